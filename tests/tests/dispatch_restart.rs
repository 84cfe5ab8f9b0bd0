//! A dispatcher dies mid-batch and the SQLite file is reopened: no customer
//! gets a message twice, and every message is sent or shown as unknown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use whatsapp_crm_core::policy::RateLimits;
use whatsapp_crm_core::ports::{OutboundMessage, SendReceipt, Storage, to_storage_precision};
use whatsapp_crm_core::service::{DispatchConfig, Dispatcher};
use whatsapp_crm_core::testing::text_message;
use whatsapp_crm_core::{
    Conversation, Crm, MessageId, MessageStatus, NewBusiness, NewCustomer, OutboxItem, OutboxState,
    Transport, TransportError,
};
use whatsapp_crm_sqlite::SqliteStorage;

/// Records every message handed to it; from the `hang_at`-th on it never
/// answers, like a process that died in the middle of the call.
#[derive(Default)]
struct DyingTransport {
    handed: Mutex<Vec<MessageId>>,
    calls: AtomicUsize,
    hang_at: Option<usize>,
}

#[async_trait::async_trait]
impl Transport for DyingTransport {
    async fn send(&self, m: &OutboundMessage) -> Result<SendReceipt, TransportError> {
        self.handed.lock().unwrap().push(m.message_id);
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hang_at.is_some_and(|h| n >= h) {
            std::future::pending::<()>().await;
        }
        let provider_id = format!("SM{}", m.message_id.as_uuid().simple());
        Ok(SendReceipt { provider_id, status: MessageStatus::Queued })
    }
}

#[tokio::test]
async fn reopening_mid_dispatch_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let now = to_storage_precision(Utc::now());
    // Four in flight at a time: a crash can leave at most four unknown.
    let config = DispatchConfig {
        batch: 10,
        in_flight: 4,
        limits: RateLimits::unlimited(),
        ..DispatchConfig::default()
    };

    let opened = SqliteStorage::open(&path).await.unwrap();
    opened.migrate().await.unwrap();
    let first: Arc<dyn Storage> = Arc::new(opened);
    let crm = Crm::new(first.clone());
    let shop = crm
        .businesses()
        .create(NewBusiness {
            name: "Duka".into(),
            whatsapp_sender: whatsapp_crm_core::testing::unique_sender().to_string(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..30 {
        let c = crm
            .customers()
            .create(shop.id, NewCustomer::with_phone(format!("+2547120{i:05}")))
            .await
            .unwrap();
        let mut conv = Conversation::new(shop.id, c.id, now);
        conv.last_inbound_at = Some(now - Duration::minutes(5));
        first.insert_conversation(&conv).await.unwrap();
        let m = text_message(&conv, "Asante! Your order is ready.");
        first.insert_message(&m).await.unwrap();
        let item = OutboxItem::new(shop.id, m.id, shop.whatsapp_sender.clone(), c.phone, now, now);
        first.enqueue(&[item]).await.unwrap();
        ids.push(m.id);
    }

    // The first dispatcher sends one full batch, then dies during the second
    // group of calls of the second batch (its fifth call hangs).
    let dying = Arc::new(DyingTransport { hang_at: Some(15), ..DyingTransport::default() });
    let d = Dispatcher::new(first.clone(), dying.clone(), config.clone());
    assert_eq!(d.run_due(now).await.unwrap().sent, 10);
    let died = tokio::time::timeout(std::time::Duration::from_millis(300), d.run_due(now)).await;
    assert!(died.is_err(), "the second round hangs in its fifth call");
    drop(d);
    drop(crm);
    drop(first);

    let reopened: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&path).await.unwrap());
    let healthy = Arc::new(DyingTransport::default());
    let d = Dispatcher::new(reopened.clone(), healthy.clone(), config);
    // Until the claim lapses nothing in it moves.
    assert_eq!(d.run_due(now + Duration::seconds(60)).await.unwrap().sent, 10);
    let mut later = now + Duration::seconds(121);
    for _ in 0..5 {
        d.run_due(later).await.unwrap();
        later += Duration::seconds(1);
    }

    let mut handed: HashMap<MessageId, usize> = HashMap::new();
    for id in dying.handed.lock().unwrap().iter().chain(healthy.handed.lock().unwrap().iter()) {
        *handed.entry(*id).or_default() += 1;
    }
    assert!(handed.values().all(|n| *n == 1), "a customer got a message twice: {handed:?}");
    let mut states: HashMap<OutboxState, usize> = HashMap::new();
    for id in &ids {
        let row = reopened.get_outbox_item(shop.id, *id).await.unwrap();
        *states.entry(row.state).or_default() += 1;
        match row.state {
            OutboxState::Sent => assert_eq!(handed.get(id), Some(&1)),
            // The calls in flight when the process died: maybe sent, shown as such.
            OutboxState::Unknown => assert_eq!(handed.get(id), Some(&1)),
            other => panic!("{id} left {other:?}"),
        }
    }
    assert_eq!(states.get(&OutboxState::Sent), Some(&26));
    assert_eq!(states.get(&OutboxState::Unknown), Some(&4));
}
