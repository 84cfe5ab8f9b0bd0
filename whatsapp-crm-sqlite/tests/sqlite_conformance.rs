//! The whole storage conformance suite, against a real SQLite file and against
//! an in-memory SQLite database.

use std::sync::Arc;

use whatsapp_crm_core::testing::TestStorage;
use whatsapp_crm_sqlite::SqliteStorage;

mod file {
    use super::*;

    whatsapp_crm_core::storage_conformance_tests!(|| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(dir.path().join("conformance.db")).await.expect("open");
        storage.migrate().await.expect("migrate");
        TestStorage::new(Arc::new(storage)).with_guard(dir)
    });
}

mod in_memory {
    use super::*;

    whatsapp_crm_core::storage_conformance_tests!(|| async {
        let storage = SqliteStorage::open_in_memory().expect("open");
        storage.migrate().await.expect("migrate");
        TestStorage::new(Arc::new(storage))
    });
}
