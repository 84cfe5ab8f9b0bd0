//! Recommendations over 1,000,000 order lines (10,000 products, orders
//! spread over 100,000 customers, 500 planted pairs), beside what an
//! embedder would write first: for the build, one global map of pair counts
//! grouped per product afterwards; for a query, no model at all: the orders
//! holding the product, found through an inverted index, counted at query
//! time.
//!
//! It prints build time, query time (`related`, and `for_basket` over a
//! basket of two) and whether the targets hold: a build under 10 s, a
//! query under 50 µs. `-- --quick` or `WCRM_BENCH_QUICK=1` for a short
//! run. Ends with `summary:` lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::Criterion;
use whatsapp_crm_core::recommend::{Basket, Model, ModelConfig, planted_baskets};

const LINES: usize = 1_000_000;
const PRODUCTS: u32 = 10_000;
const CUSTOMERS: usize = 100_000;
const BUILD_TARGET_S: f64 = 10.0;
const QUERY_TARGET_US: f64 = 50.0;

/// The obvious build: every pair in one map, then each product's
/// neighbours sorted by count.
fn naive_build(baskets: &[Basket<u32>]) -> HashMap<u32, Vec<(u32, u32)>> {
    let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
    for b in baskets {
        let mut items = b.items.clone();
        items.sort_unstable();
        items.dedup();
        for &x in &items {
            for &y in &items {
                if x != y {
                    *pairs.entry((x, y)).or_insert(0) += 1;
                }
            }
        }
    }
    let mut out: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
    for ((x, y), c) in pairs {
        out.entry(x).or_default().push((y, c));
    }
    for list in out.values_mut() {
        list.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        list.truncate(30);
    }
    out
}

/// No model: the orders holding a product, counted when asked.
struct OnTheFly {
    holding: HashMap<u32, Vec<u32>>,
    baskets: Vec<Vec<u32>>,
}

impl OnTheFly {
    fn new(baskets: &[Basket<u32>]) -> Self {
        let mut holding: HashMap<u32, Vec<u32>> = HashMap::new();
        let baskets: Vec<Vec<u32>> = baskets.iter().map(|b| b.items.clone()).collect();
        for (i, b) in baskets.iter().enumerate() {
            for &p in b {
                holding.entry(p).or_default().push(i as u32);
            }
        }
        Self { holding, baskets }
    }

    fn related(&self, product: u32, k: usize) -> Vec<u32> {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for &b in self.holding.get(&product).map(Vec::as_slice).unwrap_or(&[]) {
            for &p in &self.baskets[b as usize] {
                if p != product {
                    *counts.entry(p).or_insert(0) += 1;
                }
            }
        }
        let mut v: Vec<(u32, u32)> = counts.into_iter().collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter().take(k).map(|(p, _)| p).collect()
    }
}

fn main() {
    let quick = benches::quick_mode();
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
    // Enough baskets for a million lines, spread over 90 days and over
    // the customers (who do not change the build: baskets do).
    let (mut raw, _) = planted_baskets(PRODUCTS, 300_000, 500, 21);
    let mut lines = 0;
    let mut cut = raw.len();
    for (i, b) in raw.iter().enumerate() {
        lines += b.len();
        if lines >= LINES {
            cut = i + 1;
            break;
        }
    }
    raw.truncate(cut);
    let baskets: Vec<Basket<u32>> = raw
        .into_iter()
        .enumerate()
        .map(|(i, items)| Basket {
            items,
            at: now - chrono::Duration::minutes((i % (90 * 24 * 60)) as i64),
        })
        .collect();
    let customers = baskets.len().min(CUSTOMERS);

    let runs = if quick { 1 } else { 3 };
    let (mut ours_s, mut naive_s) = (f64::MAX, f64::MAX);
    let mut model = None;
    for _ in 0..runs {
        let s = Instant::now();
        let m = Model::build(&baskets, now, ModelConfig::default());
        ours_s = ours_s.min(s.elapsed().as_secs_f64());
        model = Some(m);
        let s = Instant::now();
        std::hint::black_box(naive_build(&baskets).len());
        naive_s = naive_s.min(s.elapsed().as_secs_f64());
    }
    let model = model.unwrap();
    let fly = OnTheFly::new(&baskets);

    // Query times over products across the popularity range, alternating.
    let probes: Vec<u32> = (0..PRODUCTS).step_by(37).collect();
    let rounds = if quick { 1 } else { 5 };
    let (mut ours_t, mut basket_t, mut fly_t) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        for &p in &probes {
            let s = Instant::now();
            std::hint::black_box(model.related(p, 10, |_| true));
            ours_t += s.elapsed();
            let s = Instant::now();
            std::hint::black_box(model.for_basket(&[p, (p + 1) % PRODUCTS], 10, |_| true));
            basket_t += s.elapsed();
            let s = Instant::now();
            std::hint::black_box(fly.related(p, 10));
            fly_t += s.elapsed();
        }
    }
    let per = |t: Duration| t.as_secs_f64() * 1e6 / (rounds * probes.len()) as f64;
    let (ours_us, basket_us, fly_us) = (per(ours_t), per(basket_t), per(fly_t));

    let mut c = Criterion::default().configure_from_args();
    if quick {
        c = c.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    }
    let popular = model.popular(1, |_| true)[0].product;
    c.bench_function("recommend_related_popular_product_ours", |b| {
        b.iter(|| std::hint::black_box(model.related(popular, 10, |_| true)))
    });
    c.bench_function("recommend_related_popular_product_on_the_fly", |b| {
        b.iter(|| std::hint::black_box(fly.related(popular, 10)))
    });
    c.final_summary();

    println!(
        "summary: recommend build {} order lines, {} orders, {} products, {} customers = {ours_s:.2} s ours, {naive_s:.2} s one pair map, ours/map = {:.2} x",
        baskets.iter().map(|b| b.items.len()).sum::<usize>(),
        baskets.len(),
        model.products(),
        customers,
        ours_s / naive_s
    );
    println!(
        "summary: recommend query top 10 = {ours_us:.2} us related ours, {basket_us:.2} us basket of 2 ours, {fly_us:.1} us counted on the fly, fly/ours = {:.0} x",
        fly_us / ours_us
    );
    println!(
        "summary: recommend targets (< {BUILD_TARGET_S} s build, < {QUERY_TARGET_US} us query) met = {} bool",
        ours_s < BUILD_TARGET_S && ours_us.max(basket_us) < QUERY_TARGET_US
    );
}
