//! Scratch schemas on a real PostgreSQL server, for tests (feature `testing`).
//!
//! `DATABASE_URL` names the server. Without it, tests skip with a message,
//! unless `WCRM_REQUIRE_POSTGRES=1` is set (as CI and `scripts/test` do), in
//! which case a missing server fails the test: Postgres tests never pass by
//! skipping where a server is expected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use whatsapp_crm_core::testing::TestStorage;

use crate::storage::quote_ident;
use crate::{PostgresConfig, PostgresStorage};

/// Variable that turns a missing server into a failure.
pub const REQUIRE_ENV: &str = "WCRM_REQUIRE_POSTGRES";

/// The server to test against, or `None` (after saying so) when tests may skip.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") => {
            panic!(
                "{REQUIRE_ENV}=1 but DATABASE_URL is not set: start PostgreSQL (scripts/test does)"
            )
        }
        _ => {
            eprintln!("skipping PostgreSQL test: DATABASE_URL is not set");
            None
        }
    }
}

/// Drops its schema when the test ends.
#[derive(Debug)]
pub struct ScratchSchema {
    url: String,
    /// The schema's name.
    pub name: String,
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(&self.name));
        // Drop may run inside or outside a runtime; a thread of its own works in both.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let s = PostgresStorage::connect(&url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(s.pool()).await.ok()?;
                s.close().await;
                Some(())
            })
        })
        .join();
    }
}

/// A migrated store in a fresh schema of its own, and the guard that drops it.
pub async fn scratch_storage(url: &str) -> (PostgresStorage, ScratchSchema) {
    let name = format!("wcrm_test_{}", uuid::Uuid::now_v7().simple());
    let config = PostgresConfig::new(url).with_schema(name.clone()).with_max_connections(4);
    let storage = PostgresStorage::connect_with(config).await.expect("connect to PostgreSQL");
    storage.migrate().await.expect("migrate scratch schema");
    (storage, ScratchSchema { url: url.to_owned(), name })
}

/// A [`TestStorage`] for the conformance suite, or `None` when skipping.
pub async fn conformance_storage() -> Option<TestStorage> {
    let url = database_url()?;
    let (storage, guard) = scratch_storage(&url).await;
    Some(TestStorage::new(Arc::new(storage)).with_guard(guard))
}
