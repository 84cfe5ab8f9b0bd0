//! Launching a broadcast on SQLite: audience snapshot (segment evaluation),
//! rendering per recipient, and enqueueing messages with their outbox rows,
//! beside two alternatives: the floor, bare multi-row inserts of the very
//! rows the launch wrote (conversations, messages, outbox rows, recipients,
//! a batch of 1,000 a transaction), measured in the same run on the same
//! file; and the naive way of queueing the same messages one send at a time.
//!
//! Targets: 100,000 recipients, on a business that has never had a
//! broadcast (every recipient gets a new conversation), in at most 3x the
//! floor (a ratio, so it holds on a slower machine), and in at most 2 s
//! here. A relaunch to
//! the same customers, who then have open conversations, is reported beside
//! it. Each measured broadcast is cancelled afterwards, untimed, so later
//! launches do not also pay for watching it. `-- --quick` or
//! `WCRM_BENCH_QUICK=1` for a short run. Ends with `summary:` lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use whatsapp_crm_core::ports::{ManualClock, Storage};
use whatsapp_crm_core::service::{NewBroadcast, SendMessage, TemplateSend};
use whatsapp_crm_core::{
    Audience, BroadcastId, BroadcastStatus, BusinessId, Crm, MessageTemplate, NewBusiness, Tag,
    TemplateCategory, TemplateContent, TemplateId, TemplateStatus,
};
use whatsapp_crm_sqlite::SqliteStorage;

const AUDIENCE: usize = 100_000;
const NAIVE: usize = 2_000;
/// Recipients a floor transaction holds, as a launch batch does.
const FLOOR_BATCH: usize = 1_000;
/// Ours over the floor that a launch must stay within.
const FLOOR_RATIO_TARGET: f64 = 2.0;
/// The tables a launch writes, parents first.
const LAUNCH_TABLES: [&str; 4] = ["conversations", "messages", "outbox", "broadcast_recipients"];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z").unwrap().to_utc()
}

/// `n` opted-in customers tagged `tag`, about a third of them nameless, loaded
/// in one transaction.
fn load_customers(path: &std::path::Path, business: BusinessId, n: usize, tag: &str, prefix: u32) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO customers (business_id, id, phone, name, search_text, country, city,
                   city_key, consent_status, consent_changed_at, consent_source, attributes,
                   created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?3, 'KE', 'Nairobi', 'nairobi', 'opted_in', ?5, 'form',
                   '{\"tier\":\"gold\"}', ?5, ?5)",
            )
            .unwrap();
        let mut tags = tx
            .prepare(
                "INSERT INTO customer_tags (business_id, customer_id, tag) VALUES (?1, ?2, ?3)",
            )
            .unwrap();
        let b = business.as_uuid().as_bytes().to_vec();
        let at = now().timestamp_micros() - 86_400_000_000;
        for i in 0..n {
            let id = uuid::Uuid::now_v7().as_bytes().to_vec();
            let phone = format!("+2547{prefix}{i:07}");
            let name = (i % 3 != 0).then(|| format!("Mteja {i}"));
            ins.execute(rusqlite::params![b, id, phone, name, at]).unwrap();
            tags.execute(rusqlite::params![b, id, tag]).unwrap();
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("ANALYZE;").unwrap();
}

/// An approved marketing template, stored as the approval flow leaves it.
async fn approved_template(s: &dyn Storage, business: BusinessId) -> TemplateId {
    let content: TemplateContent = serde_json::from_value(serde_json::json!({
        "body": "Habari {{name|rafiki}}! Your {{tier}} members get 20% off this weekend with code {{code}}.",
        "footer": "Reply STOP to opt out",
        "samples": {"name": "Wanjiku", "tier": "gold", "code": "MAMA20"}
    }))
    .unwrap();
    let t = MessageTemplate {
        id: TemplateId::new(),
        business_id: business,
        name: "weekend_offer".into(),
        category: TemplateCategory::Marketing,
        language: "en".into(),
        version: 1,
        content,
        status: TemplateStatus::Approved,
        provider_id: Some("HX0123456789abcdef0123456789abcdef".into()),
        rejection_reason: None,
        approved_version: Some(1),
        approved_provider_id: Some("HX0123456789abcdef0123456789abcdef".into()),
        created_at: now(),
        updated_at: now(),
        archived_at: None,
    };
    s.insert_template(&t).await.unwrap();
    t.id
}

fn broadcast(template: TemplateId, tag: &str) -> NewBroadcast {
    NewBroadcast {
        name: "Weekend offer".into(),
        template_id: template,
        variables: BTreeMap::from([
            ("tier".to_owned(), "attr.tier|member".to_owned()),
            ("code".to_owned(), "\"MAMA20\"".to_owned()),
        ]),
        audience: Audience::Tags { tags: vec![Tag::parse(tag).unwrap()] },
        send_at: None,
        auto_pause: None,
        ab_test: None,
    }
}

/// Creates and launches a broadcast, runs the launch to its end, and then,
/// untimed, cancels what it queued.
async fn launch(
    crm: &Crm,
    business: BusinessId,
    template: TemplateId,
    tag: &str,
) -> (Duration, u32) {
    let (elapsed, queued, id) = launch_only(crm, business, template, tag).await;
    crm.broadcasts().cancel(business, id).await.unwrap();
    (elapsed, queued)
}

/// Times a launch to its end and leaves what it queued in place.
async fn launch_only(
    crm: &Crm,
    business: BusinessId,
    template: TemplateId,
    tag: &str,
) -> (Duration, u32, BroadcastId) {
    let b = crm.broadcasts();
    let bc = b.create(business, broadcast(template, tag)).await.unwrap();
    let start = Instant::now();
    b.launch(business, bc.id).await.unwrap();
    run_to_sending(crm, business, bc.id).await;
    let elapsed = start.elapsed();
    (elapsed, b.get(business, bc.id).await.unwrap().queued, bc.id)
}

type Rows = Vec<Vec<rusqlite::types::Value>>;
/// A multi-row insert and the rows it binds.
type Insert<'a> = (String, &'a [Vec<rusqlite::types::Value>]);

/// The floor: the rows one business's first launch wrote, taken out
/// (untimed) and put back with plain multi-row inserts, timed.
struct Floor {
    conn: rusqlite::Connection,
}

impl Floor {
    fn open(path: &std::path::Path) -> Self {
        let conn = benches::bare_sqlite(path).unwrap();
        Self { conn }
    }

    /// Reads the business's launch rows, table by table, in key order.
    fn take(&mut self, business: BusinessId) -> Vec<Rows> {
        let b = business.as_uuid().as_bytes().to_vec();
        let tables = LAUNCH_TABLES.map(|table| {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT * FROM {table} WHERE business_id = ?1"))
                .unwrap();
            let width = stmt.column_count();
            stmt.query_map([&b], |r| (0..width).map(|i| r.get(i)).collect())
                .unwrap()
                .collect::<Result<Rows, _>>()
                .unwrap()
        });
        let tx = self.conn.transaction().unwrap();
        for table in LAUNCH_TABLES.iter().rev() {
            tx.execute(&format!("DELETE FROM {table} WHERE business_id = ?1"), [&b]).unwrap();
        }
        tx.commit().unwrap();
        tables.into()
    }

    /// Puts the rows back, a launch batch a transaction, and times it. The
    /// statements are written before the clock starts: only SQLite's work
    /// is timed.
    fn put(&mut self, tables: &[Rows]) -> Duration {
        use rusqlite::TransactionBehavior::Immediate;
        let batches: Vec<Vec<Insert<'_>>> = (0..tables[2].len().div_ceil(FLOOR_BATCH))
            .map(|i| {
                LAUNCH_TABLES
                    .iter()
                    .zip(tables)
                    .filter_map(|(table, rows)| {
                        let end = rows.len().min((i + 1) * FLOOR_BATCH);
                        let chunk = &rows[(i * FLOOR_BATCH).min(end)..end];
                        let first = chunk.first()?;
                        let row = format!("({})", vec!["?"; first.len()].join(", "));
                        let values = vec![row; chunk.len()].join(", ");
                        Some((format!("INSERT INTO {table} VALUES {values}"), chunk))
                    })
                    .collect()
            })
            .collect();
        let start = Instant::now();
        for batch in &batches {
            let tx = self.conn.transaction_with_behavior(Immediate).unwrap();
            for (sql, chunk) in batch {
                let n = tx
                    .prepare_cached(sql)
                    .unwrap()
                    .execute(rusqlite::params_from_iter(chunk.iter().flatten()))
                    .unwrap();
                assert_eq!(n, chunk.len());
            }
            tx.commit().unwrap();
        }
        start.elapsed()
    }
}

async fn run_to_sending(crm: &Crm, business: BusinessId, id: BroadcastId) {
    let b = crm.broadcasts();
    loop {
        b.run_due(crm.clock().now()).await.unwrap();
        if b.get(business, id).await.unwrap().status != BroadcastStatus::Launching {
            return;
        }
    }
}

fn main() {
    let quick = benches::quick_mode();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broadcast.db");
    let setup = Instant::now();
    let storage = rt.block_on(async {
        let s = SqliteStorage::open(&path).await.unwrap();
        s.migrate().await.unwrap();
        s
    });
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let crm = Crm::new(storage.clone()).with_clock(Arc::new(ManualClock::new(now())));
    let new_shop = |name: &str, sender: &str| NewBusiness {
        name: name.into(),
        whatsapp_sender: sender.into(),
        time_zone: "Africa/Nairobi".into(),
        currency: "KES".into(),
    };
    let small = rt.block_on(async {
        crm.businesses().create(new_shop("Duka Dogo", "+254700000002")).await.unwrap().id
    });
    load_customers(&path, small, 10_000, "vip", 2);
    load_customers(&path, small, NAIVE, "naive", 3);
    let small_tpl = rt.block_on(approved_template(&*storage, small));
    eprintln!("setup: {} customers in {:.1} s", 10_000 + NAIVE, setup.elapsed().as_secs_f64());

    // The target: 100,000 recipients of a business's first broadcast, each
    // run on a business of its own, loaded untimed.
    // After each, the floor puts the same rows back with bare inserts.
    let runs: u32 = if quick { 1 } else { 3 };
    let (mut best, mut floor_best) = (Duration::MAX, Duration::MAX);
    let mut floor = Floor::open(&path);
    let mut big = (small, small_tpl);
    for run in 0..runs {
        let sender = format!("+25470000010{run}");
        let id = rt.block_on(async {
            crm.businesses().create(new_shop("Duka Kubwa", &sender)).await.unwrap().id
        });
        load_customers(&path, id, AUDIENCE, "vip", 4 + run);
        big = (id, rt.block_on(approved_template(&*storage, id)));
        let (d, queued, bc) = rt.block_on(launch_only(&crm, big.0, big.1, "vip"));
        assert_eq!(queued as usize, AUDIENCE, "every opted-in customer is queued");
        best = best.min(d);
        let rows = floor.take(id);
        assert_eq!(rows.iter().map(Vec::len).collect::<Vec<_>>(), [AUDIENCE; 4]);
        let bare = floor.put(&rows);
        eprintln!("run {run}: ours {:.2} s, floor {:.2} s", d.as_secs_f64(), bare.as_secs_f64());
        floor_best = floor_best.min(bare);
        rt.block_on(crm.broadcasts().cancel(big.0, bc)).unwrap();
    }
    // The same customers again: their conversations are open now, so the
    // launch joins them, and their messages land among the earlier ones.
    let (relaunch, queued) = rt.block_on(launch(&crm, big.0, big.1, "vip"));
    assert_eq!(queued as usize, AUDIENCE, "every opted-in customer is queued again");

    // The naive way: one send (one transaction) per recipient.
    let naive = rt.block_on(async {
        let customers = storage
            .segment_customers(
                small,
                &whatsapp_crm_core::segment::parse_rule(
                    "tag has naive",
                    whatsapp_crm_core::Currency::KES,
                )
                .unwrap(),
                &whatsapp_crm_core::segment::SegmentContext {
                    now: now(),
                    time_zone: whatsapp_crm_core::TimeZone::UTC,
                },
                now(),
                None,
                NAIVE as u32,
            )
            .await
            .unwrap();
        let start = Instant::now();
        for c in &customers {
            let id = &c.id;
            let send = SendMessage {
                customer_id: *id,
                content: None,
                template: Some(TemplateSend {
                    template_id: small_tpl,
                    values: BTreeMap::from([
                        ("code".to_owned(), "MAMA20".to_owned()),
                        ("tier".to_owned(), "gold".to_owned()),
                    ]),
                }),
                media_sizes: Vec::new(),
                send_at: None,
            };
            crm.outbound().send(small, send).await.unwrap();
        }
        start.elapsed() / u32::try_from(customers.len()).unwrap()
    });

    // Criterion on a 10,000-recipient launch, per recipient.
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    c = if quick {
        c.warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(3))
    } else {
        c.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10))
    };
    let mut group = c.benchmark_group("broadcast");
    group.throughput(criterion::Throughput::Elements(10_000));
    group.bench_function("launch_10k_sqlite", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(launch(&crm, small, small_tpl, "vip")).0;
            }
            total
        })
    });
    group.finish();
    c.final_summary();

    let per = best / u32::try_from(AUDIENCE).unwrap();
    println!("summary: broadcast launch recipients = {AUDIENCE} count");
    println!("summary: broadcast launch 100k sqlite = {:.2} s", best.as_secs_f64());
    println!("summary: broadcast launch per recipient = {:.1} us", per.as_secs_f64() * 1e6);
    println!("summary: broadcast launch target 2 s = {:.2} x", 2.0 / best.as_secs_f64());
    let ratio = best.as_secs_f64() / floor_best.as_secs_f64();
    println!(
        "summary: broadcast launch floor 100k bare inserts = {:.2} s",
        floor_best.as_secs_f64()
    );
    println!("summary: broadcast launch ours/floor = {ratio:.2} x");
    println!(
        "summary: broadcast launch ratio target {FLOOR_RATIO_TARGET} x = {:.2} x",
        FLOOR_RATIO_TARGET / ratio
    );
    println!("summary: broadcast relaunch 100k sqlite = {:.2} s", relaunch.as_secs_f64());
    println!("summary: one send per recipient = {:.1} us", naive.as_secs_f64() * 1e6);
    println!(
        "summary: broadcast launch ours/one-send-each = {:.3} x",
        per.as_secs_f64() / naive.as_secs_f64()
    );
}
