//! Segment evaluation over generated customers: our compiled evaluator beside a
//! hand-written Rust closure over the same data, and SQLite scanning the same
//! customers with hand-written SQL; then our SQL push-down beside that SQL.
//!
//! `cargo bench -p benches --bench segments` (1,000,000 customers); add
//! `-- --quick` or set `WCRM_BENCH_QUICK=1` for a short run on 200,000.
//! Ends with `summary:` lines.

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::Criterion;
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use whatsapp_crm_core::ports::{BusinessStore, CustomerStore};
use whatsapp_crm_core::segment::{CustomerTable, SegmentContext, parse_rule};
use whatsapp_crm_core::{
    Business, BusinessId, Currency, Customer, CustomerId, CustomerStats, Location,
    MarketingConsent, PhoneNumber, Tag, TimeZone,
};
use whatsapp_crm_sqlite::{SqliteStorage, segment_count_sql};

const RULE: &str =
    "tag has vip and spend >= 10000.00 and orders >= 3 and city = Nairobi and active 30d";
const TAGS: [&str; 16] = [
    "vip",
    "wholesale",
    "new",
    "returning",
    "late-payer",
    "student",
    "staff",
    "b2b",
    "promo",
    "m-pesa",
    "card",
    "cash",
    "mombasa-road",
    "westlands",
    "cbd",
    "online",
];
const CITIES: [&str; 8] =
    ["Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Thika", "Malindi", "Kitale"];
const DAY: i64 = 86_400_000_000;

/// The hand-written closure's data: the same customers, laid out by hand.
struct Plain {
    tags: u16,
    city: u8,
    orders: u32,
    spend: i64,
    last_inbound: i64,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z").unwrap().to_utc()
}

fn generate(n: usize, business: BusinessId) -> (Vec<Customer>, Vec<Plain>) {
    let tags: Vec<Tag> = TAGS.iter().map(|t| Tag::parse(t).unwrap()).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut customers = Vec::with_capacity(n);
    let mut plain = Vec::with_capacity(n);
    let base = now().timestamp_micros();
    for i in 0..n {
        let mut mask = 0u16;
        for _ in 0..4 {
            mask |= 1 << (rng.next() % 16);
        }
        let city = (rng.next() % 8) as u8;
        let orders = (rng.next() % 10) as u32;
        let spend = (rng.next() % 2_000_000) as i64;
        let last_inbound = if rng.next().is_multiple_of(5) {
            i64::MIN
        } else {
            base - (rng.next() % (365 * DAY as u64)) as i64
        };
        let inbound_at = (last_inbound != i64::MIN)
            .then(|| DateTime::from_timestamp_micros(last_inbound).unwrap());
        customers.push(Customer {
            id: CustomerId::new(),
            business_id: business,
            phone: PhoneNumber::parse(&format!("+2547{i:08}")).unwrap(),
            name: None,
            tags: (0..16)
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| tags[b].clone())
                .collect::<BTreeSet<_>>(),
            location: Location {
                country: Some("KE".into()),
                city: Some(CITIES[city as usize].into()),
            },
            birthday: None,
            marketing: MarketingConsent::default(),
            attributes: BTreeMap::new(),
            first_seen_at: inbound_at,
            last_seen_at: inbound_at,
            last_inbound_at: inbound_at,
            stats: CustomerStats {
                total_spent: spend,
                order_count: orders,
                last_order_at: None,
                engagement_score: 0,
            },
            created_at: now(),
            updated_at: now(),
        });
        plain.push(Plain { tags: mask, city, orders, spend, last_inbound });
    }
    (customers, plain)
}

/// Loads the customers into SQLite in the adapter's own schema, one transaction.
fn load_sqlite(path: &std::path::Path, business: &Business, customers: &[Customer]) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO customers (business_id, id, phone, search_text, country, city, city_key, consent_status,
                   attributes, first_seen_at, last_seen_at, last_inbound_at, created_at, updated_at, total_spent,
                   order_count, engagement_score)
                 VALUES (?1, ?2, ?3, ?3, 'KE', ?4, ?5, 'unknown', '{}', ?6, ?6, ?6, ?7, ?7, ?8, ?9, 0)",
            )
            .unwrap();
        let mut tag = tx
            .prepare(
                "INSERT INTO customer_tags (business_id, customer_id, tag) VALUES (?1, ?2, ?3)",
            )
            .unwrap();
        let b = business.id.as_uuid().as_bytes().to_vec();
        for c in customers {
            let id = c.id.as_uuid().as_bytes().to_vec();
            let city = c.location.city.clone().unwrap();
            let inbound = c.last_inbound_at.map(|t| t.timestamp_micros());
            ins.execute(rusqlite::params![
                b,
                id,
                c.phone.as_str(),
                city,
                city.to_lowercase(),
                inbound,
                c.created_at.timestamp_micros(),
                c.stats.total_spent,
                c.stats.order_count
            ])
            .unwrap();
            for t in &c.tags {
                tag.execute(rusqlite::params![b, id, t.as_str()]).unwrap();
            }
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("ANALYZE;").unwrap();
}

/// Fastest of `samples` runs, in seconds.
fn best(samples: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::INFINITY;
    let mut result = 0;
    for _ in 0..samples {
        let t = Instant::now();
        result = black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, result)
}

fn main() {
    let quick = benches::quick_mode();
    let n = if quick { 200_000 } else { 1_000_000 };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let business = Business {
        id: BusinessId::new(),
        name: "Bench".into(),
        whatsapp_sender: PhoneNumber::parse("+254700000001").unwrap(),
        time_zone: TimeZone::parse("Africa/Nairobi").unwrap(),
        currency: Currency::KES,
        keywords: Default::default(),
        commerce: Default::default(),
        assistant: Default::default(),
        created_at: now(),
    };
    let setup = Instant::now();
    let (customers, plain) = generate(n, business.id);
    let mut table = CustomerTable::new();
    for c in &customers {
        table.push(c, &[]);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segments.db");
    let storage = rt.block_on(async {
        let s = SqliteStorage::open(&path).await.unwrap();
        s.migrate().await.unwrap();
        s.insert_business(&business).await.unwrap();
        s
    });
    load_sqlite(&path, &business, &customers);
    drop(customers);
    eprintln!("setup: {n} customers in {:.1} s", setup.elapsed().as_secs_f64());

    let ctx = SegmentContext { now: now(), time_zone: business.time_zone };
    let rule = parse_rule(RULE, Currency::KES).unwrap();
    let program = table.compile(&rule, ctx.now, ctx.time_zone);
    let since = ctx.now.timestamp_micros() - 30 * DAY;
    let (vip, nairobi) = (1u16 << 0, 0u8);
    let closure = |c: &Plain| {
        c.tags & vip != 0
            && c.spend >= 1_000_000
            && c.orders >= 3
            && c.city == nairobi
            && c.last_inbound > since
    };
    let conn = rusqlite::Connection::open(&path).unwrap();
    let hand_sql = "SELECT count(*) FROM customers c WHERE c.business_id = ?1 AND c.total_spent >= 1000000
        AND c.order_count >= 3 AND c.city_key = 'nairobi' AND c.last_inbound_at > ?2
        AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.business_id = c.business_id AND t.customer_id = c.id AND t.tag = 'vip')";
    let business_blob = Value::Blob(business.id.as_uuid().as_bytes().to_vec());
    let hand_args = vec![business_blob.clone(), Value::Integer(since)];
    let (ours_sql, rule_args) = segment_count_sql(&rule, &ctx);
    let mut ours_args = vec![business_blob];
    ours_args.extend(rule_args);
    let sql_count = |sql: &str, args: &[Value]| -> usize {
        conn.prepare_cached(sql)
            .unwrap()
            .query_row(params_from_iter(args.iter()), |r| r.get::<_, i64>(0))
            .unwrap() as usize
    };
    let storage = Arc::new(storage);
    let end_to_end = || {
        let s = storage.clone();
        let (rule, ctx) = (rule.clone(), ctx);
        rt.block_on(async move {
            s.select_segment(business.id, &rule, &ctx, 50, None).await.unwrap().count as usize
        })
    };

    // Every implementation selects the same customers.
    let expected = plain.iter().filter(|c| closure(c)).count();
    assert_eq!(table.count(&program), expected);
    assert_eq!(sql_count(hand_sql, &hand_args), expected);
    assert_eq!(sql_count(&ours_sql, &ours_args), expected);
    assert_eq!(end_to_end(), expected);

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    c = if quick {
        c.warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(800))
    } else {
        c.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4))
    };
    let mut group = c.benchmark_group(format!("segment_{n}"));
    group.bench_function("evaluator", |b| b.iter(|| table.count(black_box(&program))));
    group.bench_function("closure", |b| {
        b.iter(|| plain.iter().filter(|c| closure(black_box(c))).count())
    });
    group.bench_function("sqlite_hand_sql", |b| b.iter(|| sql_count(hand_sql, &hand_args)));
    group.bench_function("sqlite_pushdown", |b| b.iter(|| sql_count(&ours_sql, &ours_args)));
    group.bench_function("select_segment", |b| b.iter(end_to_end));
    group.finish();
    c.final_summary();

    let samples = if quick { 5 } else { 15 };
    let mut evaluator = f64::INFINITY;
    let mut closure_s = f64::INFINITY;
    let mut hand = f64::INFINITY;
    let mut pushdown = f64::INFINITY;
    // Interleaved, so drift on the machine affects all alike.
    for _ in 0..3 {
        evaluator = evaluator.min(best(samples, || table.count(&program)).0);
        closure_s = closure_s.min(best(samples, || plain.iter().filter(|c| closure(c)).count()).0);
        hand = hand.min(best(samples.div_ceil(3), || sql_count(hand_sql, &hand_args)).0);
        pushdown = pushdown.min(best(samples.div_ceil(3), || sql_count(&ours_sql, &ours_args)).0);
    }
    let (e2e, _) = best(samples.div_ceil(3), end_to_end);
    let ms = |s: f64| s * 1e3;
    println!("summary: segment customers = {n} count");
    println!("summary: segment matches = {expected} count");
    println!("summary: segment evaluator = {:.2} ms", ms(evaluator));
    println!("summary: segment closure = {:.2} ms", ms(closure_s));
    println!("summary: segment sqlite_hand_sql = {:.2} ms", ms(hand));
    println!("summary: segment sqlite_pushdown = {:.2} ms", ms(pushdown));
    println!("summary: segment select_segment (count + page of 50) = {:.2} ms", ms(e2e));
    println!("summary: segment evaluator/closure = {:.3} x", evaluator / closure_s);
    println!("summary: segment sqlite_hand_sql/evaluator = {:.1} x", hand / evaluator);
    println!("summary: segment pushdown/hand_sql = {:.3} x", pushdown / hand);
    let met = evaluator <= 3.0 * closure_s && hand >= 10.0 * evaluator && pushdown <= 1.2 * hand;
    println!(
        "summary: segment targets (evaluator <= 3x closure, >= 10x faster than SQLite, push-down <= 1.2x hand SQL) met = {} bool",
        u8::from(met)
    );
}
