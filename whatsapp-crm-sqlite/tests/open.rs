//! Opening, migrating and reopening databases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use whatsapp_crm_core::testing::{full_customer, new_business};
use whatsapp_crm_sqlite::{OpenError, SCHEMA_VERSION, SqliteStorage};

#[tokio::test]
async fn migrate_twice_is_a_no_op_and_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let storage = SqliteStorage::open(&path).await.unwrap();
    storage.migrate().await.unwrap();
    storage.migrate().await.unwrap();
    assert_eq!(storage.schema_version().await.unwrap(), SCHEMA_VERSION);
    let b = new_business(&storage, "Persistent").await;
    let c = full_customer(b.id, "+254712000001", "Kept");
    use whatsapp_crm_core::ports::CustomerStore;
    storage.insert_customer(&c).await.unwrap();
    drop(storage);

    let reopened = SqliteStorage::open(&path).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(reopened.get_customer(b.id, c.id).await.unwrap(), c);
}

#[tokio::test]
async fn commits_reach_the_database_file_while_the_storage_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let storage = SqliteStorage::open(&path).await.unwrap();
    storage.migrate().await.unwrap();
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    // Far below the writer's own checkpoint threshold: only the background
    // checkpointer moves these pages out of the write-ahead log.
    new_business(&storage, "Checkpointed").await;
    let mut waited = std::time::Duration::ZERO;
    while size() <= before {
        assert!(waited < std::time::Duration::from_secs(30), "no checkpoint within 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        waited += std::time::Duration::from_millis(20);
    }
    let conn = rusqlite_conn(&path);
    let n: i64 = conn.query_row("SELECT count(*) FROM businesses", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "these are my shopping notes, not a database\n".repeat(100)).unwrap();
    let err = SqliteStorage::open(&path).await.unwrap_err();
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a SQLite database"), "{err}");
    assert!(
        std::fs::read_to_string(&path).unwrap().starts_with("these are my"),
        "file was changed"
    );
}

#[tokio::test]
async fn a_damaged_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let storage = SqliteStorage::open(&path).await.unwrap();
    storage.migrate().await.unwrap();
    new_business(&storage, "Soon broken").await;
    drop(storage);
    // Keep the header, scribble over the schema page.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(100).take(3000) {
        *b = 0xA5;
    }
    std::fs::write(&path, bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("crm.db-wal"));
    let result = match SqliteStorage::open(&path).await {
        Ok(s) => s.migrate().await,
        Err(e) => Err(e),
    };
    let err = result.unwrap_err();
    println!("{err}");
    assert!(matches!(err, OpenError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("damaged"), "{err}");
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    {
        let conn = rusqlite_conn(&path);
        conn.execute_batch(&format!("PRAGMA user_version = {};", SCHEMA_VERSION + 5)).unwrap();
    }
    let storage = SqliteStorage::open(&path).await.unwrap();
    let err = storage.migrate().await.unwrap_err();
    assert!(
        matches!(err, OpenError::NewerSchema { found, supported } if found == SCHEMA_VERSION + 5 && supported == SCHEMA_VERSION)
    );
    assert!(err.to_string().contains("newer than this build supports"));
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStorage::open(dir.path().join("no/such/dir/crm.db")).await.unwrap_err();
    assert!(matches!(err, OpenError::CannotOpen { .. }), "{err:?}");
}

#[tokio::test]
async fn storage_is_usable_behind_a_shared_handle() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    storage.migrate().await.unwrap();
    let shared: Arc<dyn whatsapp_crm_core::ports::Storage> = Arc::new(storage);
    new_business(&*shared, "Shared").await;
}

#[tokio::test]
async fn upgrading_keeps_conversations_messages_and_their_keys() {
    use whatsapp_crm_core::ports::{ConversationStore, CustomerStore, MessageStore};
    use whatsapp_crm_core::testing::{new_conversation, text_message};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    // A database as version 9 left it.
    {
        let conn = rusqlite_conn(&path);
        for sql in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_templates.sql"),
            include_str!("../migrations/0003_customer_stats.sql"),
            include_str!("../migrations/0004_orders.sql"),
            include_str!("../migrations/0005_segments.sql"),
            include_str!("../migrations/0006_outbox.sql"),
            include_str!("../migrations/0007_senders.sql"),
            include_str!("../migrations/0008_broadcasts.sql"),
            include_str!("../migrations/0009_inbound_index.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 9;").unwrap();
    }
    // The business row as version 9 stores it (today's code writes columns
    // later versions added).
    let b = whatsapp_crm_core::BusinessId::new();
    rusqlite_conn(&path)
        .execute(
            "INSERT INTO businesses (id, name, whatsapp_sender, time_zone, currency, created_at)
             VALUES (?1, 'Upgraded', '+254700000099', 'Africa/Nairobi', 'KES', 0)",
            [b.as_uuid().as_bytes().to_vec()],
        )
        .unwrap();
    let storage = SqliteStorage::open(&path).await.unwrap();
    let (c, other) =
        (full_customer(b, "+254712000001", "Kept"), full_customer(b, "+254712000002", "Other"));
    storage.insert_customer(&c).await.unwrap();
    storage.insert_customer(&other).await.unwrap();
    let conv = new_conversation(&storage, &c).await;
    let m = text_message(&conv, "habari");
    // The message row as version 9 stores it (no author or decision yet).
    let id = |u: uuid::Uuid| u.as_bytes().to_vec();
    rusqlite_conn(&path)
        .execute(
            "INSERT INTO messages (business_id, id, conversation_id, customer_id, direction, kind,
               content, status, queued_at, created_at)
             VALUES (?1, ?2, ?3, ?4, 'outbound', 'text', ?5, 'queued', ?6, ?6)",
            rusqlite::params![
                id(b.as_uuid()),
                id(m.id.as_uuid()),
                id(conv.id.as_uuid()),
                id(c.id.as_uuid()),
                serde_json::to_string(&m.content).unwrap(),
                m.created_at.timestamp_micros()
            ],
        )
        .unwrap();

    storage.migrate().await.unwrap();
    assert_eq!(storage.schema_version().await.unwrap(), SCHEMA_VERSION);
    // Rebuilding the table cascaded into nothing.
    assert_eq!(storage.get_conversation(b, conv.id).await.unwrap(), conv);
    assert_eq!(storage.get_message(b, m.id).await.unwrap(), m);
    assert_eq!(storage.latest_conversation(b, c.id).await.unwrap(), Some(conv.clone()));
    // A message must still belong to its conversation's customer.
    let mut stray = text_message(&conv, "not theirs");
    stray.customer_id = other.id;
    assert!(storage.insert_message(&stray).await.is_err());
    // And deleting the customer still takes their conversations and messages.
    storage.delete_customer(b, c.id).await.unwrap();
    assert!(storage.get_message(b, m.id).await.is_err());
    assert!(storage.get_conversation(b, conv.id).await.is_err());
    let conn = rusqlite_conn(&path);
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM pragma_index_list('conversations') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        indexes,
        [
            "conversations_by_agent",
            "conversations_by_customer",
            "conversations_by_status",
            "conversations_desk_due",
            "conversations_waiting",
            "sqlite_autoindex_conversations_1"
        ]
    );
}

/// Opens the file with SQLite directly (through the crate's own dependency tree).
fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}
