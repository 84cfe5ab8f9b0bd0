//! Eight tasks reading and writing one SQLite file at once: no deadlock, no lost write.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use whatsapp_crm_core::ports::{CustomerQuery, Storage};
use whatsapp_crm_core::testing::{at, bare_customer, new_business, tag};
use whatsapp_crm_sqlite::SqliteStorage;

const TASKS: usize = 8;
const CUSTOMERS_PER_TASK: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_mixed_reads_and_writes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path().join("busy.db")).await.unwrap();
    storage.migrate().await.unwrap();
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let business = new_business(&*storage, "Busy shop").await;
    let shared = bare_customer(business.id, "+255700000000");
    storage.insert_customer(&shared).await.unwrap();

    let work = (0..TASKS).map(|task| {
        let s = Arc::clone(&storage);
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..CUSTOMERS_PER_TASK {
                let c = bare_customer(business.id, &format!("+2547{task:02}{i:06}"));
                s.insert_customer(&c).await.unwrap();
                let label = tag(&format!("task{task}"));
                s.add_customer_tags(business.id, c.id, std::slice::from_ref(&label), at(i as i64))
                    .await
                    .unwrap();
                // Every task also tags one shared customer, racing on the same rows.
                let shared_tag = tag(&format!("seen-by-{task}-{i}"));
                s.add_customer_tags(business.id, shared.id, &[shared_tag], at(i as i64))
                    .await
                    .unwrap();
                let read = s.get_customer(business.id, c.id).await.unwrap();
                assert_eq!(read.tags.len(), 1);
                let page = s
                    .list_customers(business.id, &CustomerQuery { limit: 20, ..Default::default() })
                    .await
                    .unwrap();
                assert!(!page.items.is_empty());
                mine.push(c.id);
            }
            mine
        })
    });
    let all = tokio::time::timeout(Duration::from_secs(120), futures_all(work.collect()))
        .await
        .expect("deadlock: tasks did not finish");

    let mut expected: Vec<_> = all.into_iter().flatten().collect();
    expected.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = storage
            .list_customers(business.id, &CustomerQuery { limit: 200, after, ..Default::default() })
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => after = Some(c.parse().unwrap()),
            None => break,
        }
    }
    seen.retain(|id| *id != shared.id);
    assert_eq!(seen.len(), TASKS * CUSTOMERS_PER_TASK);
    assert_eq!(seen, expected);
    for t in 0..TASKS {
        let q =
            CustomerQuery { tag: Some(tag(&format!("task{t}"))), limit: 200, ..Default::default() };
        assert_eq!(
            storage.list_customers(business.id, &q).await.unwrap().items.len(),
            CUSTOMERS_PER_TASK
        );
    }
    let shared = storage.get_customer(business.id, shared.id).await.unwrap();
    assert_eq!(shared.tags.len(), TASKS * CUSTOMERS_PER_TASK, "a concurrent tag write was lost");
}

async fn futures_all<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Two handles on one file stand for two server processes: the sender's
/// budget is spent once between them, because the ledger lives in the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_share_the_senders_budget() {
    use whatsapp_crm_core::policy::{RateLimits, SendSlot};
    use whatsapp_crm_core::testing::phone;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = SqliteStorage::open(&path).await.unwrap();
    first.migrate().await.unwrap();
    let second = SqliteStorage::open(&path).await.unwrap();
    let handles: [Arc<dyn Storage>; 2] = [Arc::new(first), Arc::new(second)];
    let sender = phone("+254700000099");
    let limits =
        RateLimits { messages_per_second: Some(20), burst: 1, pair_interval_ms: None, tier: None };
    let mut admitted = 0;
    // Ten simulated seconds, both "processes" asking for 4 every 50 ms.
    for step in 0..200_i64 {
        let now = at(0) + chrono::Duration::milliseconds(step * 50);
        let asks = handles.iter().enumerate().map(|(h, s)| {
            let s = Arc::clone(s);
            let slots: Vec<SendSlot> = (0..4)
                .map(|k| SendSlot {
                    to: phone(&format!("+2547150{:05}", step * 8 + h as i64 * 4 + k)),
                    business_initiated: false,
                })
                .collect();
            let sender = sender.clone();
            tokio::spawn(async move { s.admit_sends(&sender, &limits, &slots, now).await })
        });
        for done in futures_all(asks.collect()).await {
            admitted += done.unwrap().iter().filter(|v| v.is_ok()).count() as i64;
        }
        assert!(admitted <= 1 + step, "{admitted} admitted by step {step}");
    }
    assert_eq!(admitted, 200, "20 a second for ten seconds, between both handles");
}
