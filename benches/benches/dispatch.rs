//! Dispatcher overhead per message: the outbox claim, the policy checks, the
//! handover to `StubTransport` and the recorded outcome, with limits off, on
//! SQLite (a file, as the reference server runs) and in memory, beside a
//! loop that hands the same messages straight to the transport.
//!
//! Target: at least 20,000 messages/s on SQLite, so the provider's 80–1,000/s
//! is always the bottleneck. `-- --quick` or `WCRM_BENCH_QUICK=1` for a short
//! run. Ends with `summary:` lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use whatsapp_crm_core::policy::RateLimits;
use whatsapp_crm_core::ports::{OutboundMessage, Storage, Transport};
use whatsapp_crm_core::service::{DispatchConfig, Dispatcher};
use whatsapp_crm_core::{
    Conversation, Crm, Customer, Direction, InMemoryStorage, Message, MessageContent, MessageId,
    MessageStatus, NewBusiness, NewCustomer, OutboxItem, StatusTimes, StubTransport,
};
use whatsapp_crm_sqlite::SqliteStorage;

const CUSTOMERS: usize = 200;
const BATCH: u32 = 500;

fn quick_mode() -> bool {
    std::env::args().any(|a| a == "--quick")
        || std::env::var("WCRM_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z").unwrap().to_utc()
}

/// A store with one business and customers whose window is open.
struct Fixture {
    storage: Arc<dyn Storage>,
    customers: Vec<(Customer, Conversation)>,
    sender: whatsapp_crm_core::PhoneNumber,
    /// One transport for the fixture's life: its provider ids never repeat.
    transport: Arc<StubTransport>,
}

async fn fixture(storage: Arc<dyn Storage>) -> Fixture {
    let crm = Crm::new(storage.clone());
    let shop = crm
        .businesses()
        .create(NewBusiness {
            name: "Duka".into(),
            whatsapp_sender: "+254700000001".into(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await
        .unwrap();
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let c = crm
            .customers()
            .create(shop.id, NewCustomer::with_phone(format!("+2547120{i:05}")))
            .await
            .unwrap();
        let mut conv = Conversation::new(shop.id, c.id, now());
        conv.last_inbound_at = Some(now() - chrono::Duration::minutes(5));
        storage.insert_conversation(&conv).await.unwrap();
        customers.push((c, conv));
    }
    Fixture { storage, customers, sender: shop.whatsapp_sender, transport: Arc::default() }
}

/// Stores and queues `n` messages (untimed) and returns what a direct send
/// of them would hand the transport.
async fn queue(f: &Fixture, n: u64) -> Vec<OutboundMessage> {
    let mut items = Vec::with_capacity(n as usize);
    let mut direct = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let (c, conv) = &f.customers[i % f.customers.len()];
        let m = Message {
            id: MessageId::new(),
            business_id: c.business_id,
            conversation_id: conv.id,
            customer_id: c.id,
            direction: Direction::Outbound,
            content: MessageContent::text("Your order #1042 is on its way"),
            status: MessageStatus::Queued,
            provider_id: None,
            error_code: None,
            times: StatusTimes { queued_at: Some(now()), ..StatusTimes::default() },
            created_at: now(),
        };
        f.storage.insert_message(&m).await.unwrap();
        items.push(OutboxItem::new(
            c.business_id,
            m.id,
            f.sender.clone(),
            c.phone.clone(),
            now(),
            now(),
        ));
        direct.push(OutboundMessage {
            business_id: c.business_id,
            message_id: m.id,
            from: f.sender.clone(),
            to: c.phone.clone(),
            content: m.content,
        });
    }
    for chunk in items.chunks(1_000) {
        f.storage.enqueue(chunk).await.unwrap();
    }
    direct
}

/// Times dispatching `n` freshly queued messages until the outbox is empty.
async fn dispatch(f: &Fixture, n: u64) -> Duration {
    queue(f, n).await;
    let config = DispatchConfig {
        batch: BATCH,
        limits: RateLimits::unlimited(),
        ..DispatchConfig::default()
    };
    let d = Dispatcher::new(f.storage.clone(), f.transport.clone(), config);
    let start = Instant::now();
    let mut sent = 0;
    while sent < n {
        sent += u64::from(d.run_due(now()).await.unwrap().sent);
    }
    start.elapsed()
}

/// Times handing the same messages straight to the transport: the floor.
async fn direct(f: &Fixture, n: u64) -> Duration {
    let messages = queue(f, n).await;
    let t = StubTransport::new();
    let start = Instant::now();
    for m in &messages {
        t.send(m).await.unwrap();
    }
    start.elapsed()
}

fn main() {
    let quick = quick_mode();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = rt.block_on(async {
        let s = SqliteStorage::open(dir.path().join("bench.db")).await.unwrap();
        s.migrate().await.unwrap();
        fixture(Arc::new(s)).await
    });
    let memory = rt.block_on(fixture(Arc::new(InMemoryStorage::new())));

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    c = if quick {
        c.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2))
    } else {
        c.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(6))
    };
    let mut group = c.benchmark_group("dispatch");
    group.throughput(criterion::Throughput::Elements(1));
    group.bench_function("sqlite", |b| b.iter_custom(|n| rt.block_on(dispatch(&sqlite, n))));
    group.bench_function("memory", |b| b.iter_custom(|n| rt.block_on(dispatch(&memory, n))));
    group.bench_function("direct", |b| b.iter_custom(|n| rt.block_on(direct(&memory, n))));
    group.finish();
    c.final_summary();

    // A fixed run for the summary lines.
    let n = if quick { 5_000 } else { 20_000 };
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let on_sqlite = rate(rt.block_on(dispatch(&sqlite, n)));
    let in_memory = rate(rt.block_on(dispatch(&memory, n)));
    let floor = rate(rt.block_on(direct(&memory, n)));
    println!("summary: dispatch messages = {n} count");
    println!("summary: dispatch sqlite = {on_sqlite:.0} messages/s");
    println!("summary: dispatch memory = {in_memory:.0} messages/s");
    println!("summary: dispatch direct transport = {floor:.0} messages/s");
    println!("summary: dispatch sqlite target 20000/s = {:.2} x", on_sqlite / 20_000.0);
    println!("summary: dispatch sqlite overhead per message = {:.1} us", 1e6 / on_sqlite);
}
