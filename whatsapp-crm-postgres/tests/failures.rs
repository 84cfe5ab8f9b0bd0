//! Lost connections and unreachable servers become retryable errors, never panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use whatsapp_crm_core::ports::BusinessStore;
use whatsapp_crm_core::testing::new_business;
use whatsapp_crm_core::{BusinessId, StorageError};
use whatsapp_crm_postgres::testing::{database_url, scratch_storage};
use whatsapp_crm_postgres::{PostgresConfig, PostgresStorage};

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_error() {
    // Port 1 on loopback: nothing listens there.
    let config = PostgresConfig::new("postgres://nobody@127.0.0.1:1/none")
        .with_acquire_timeout(Duration::from_millis(500));
    let err = PostgresStorage::connect_with(config.clone()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let lazy = PostgresStorage::connect_lazy_with(config).unwrap();
    let err = lazy.get_business(BusinessId::new()).await.unwrap_err();
    assert!(matches!(err, StorageError::Backend { retryable: true, .. }), "{err:?}");
}

#[tokio::test]
async fn a_malformed_url_is_a_clear_permanent_error() {
    let err = PostgresStorage::connect("postgres://a:b@host:notaport/db").await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("invalid PostgreSQL URL"), "{err}");
}

#[tokio::test]
async fn a_connection_killed_mid_statement_is_retryable_and_the_retry_succeeds() {
    let Some(url) = database_url() else { return };
    let (storage, guard) = scratch_storage(&url).await;
    let admin =
        PostgresStorage::connect_with(PostgresConfig::new(&url).with_schema(guard.name.clone()))
            .await
            .unwrap();
    let mut business = new_business(&storage, "Template").await;
    business.id = BusinessId::new();
    business.whatsapp_sender = whatsapp_crm_core::testing::unique_sender();

    // An open transaction holds the same id, so the storage's insert waits on it...
    let mut blocker = admin.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO businesses (id, name, whatsapp_sender, time_zone, currency, created_at) SELECT $1, name, $2, time_zone, currency, created_at FROM businesses LIMIT 1")
        .bind(business.id.as_uuid())
        .bind(business.whatsapp_sender.as_str())
        .execute(&mut *blocker)
        .await
        .unwrap();
    let waiting = {
        let storage = storage.clone();
        let business = business.clone();
        tokio::spawn(async move { storage.insert_business(&business).await })
    };
    // ...until its connection is killed under it.
    let pid: i32 = loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO businesses%'",
        )
        .fetch_optional(admin.pool())
        .await
        .unwrap();
        if let Some(pid) = pid {
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(admin.pool())
        .await
        .unwrap();
    let err = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(err, StorageError::Backend { retryable: true, .. }),
        "a lost connection must be retryable: {err:?}"
    );

    blocker.rollback().await.unwrap();
    storage.insert_business(&business).await.unwrap();
    assert_eq!(storage.get_business(business.id).await.unwrap().name, "Template");
    admin.close().await;
}

#[tokio::test]
async fn migrate_twice_is_a_no_op() {
    let Some(url) = database_url() else { return };
    let (storage, _guard) = scratch_storage(&url).await;
    storage.migrate().await.unwrap();
    new_business(&storage, "Still here").await;
    storage.migrate().await.unwrap();
}
