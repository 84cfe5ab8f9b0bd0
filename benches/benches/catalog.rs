//! Catalog search over 100,000 products on SQLite (a file, as the reference
//! server runs), beside a hand-written FTS5 query over the same products in
//! the same file: a `unicode61` table of name, category, description and SKU
//! queried with the customer's words, ranked by bm25. That query is what an
//! embedder would write by hand; it finds exact words only.
//!
//! Twenty queries (exact, misspelt, Swahili) run alternately through each.
//! The suite prints p50 and p99 of both, and their ratio, over all twenty
//! and over the queries the hand query answers (names the product asked for
//! in its top 3): on the rest it returns nothing, quickly, which says little
//! about speed. The target is on the second set: ours at most as slow as the
//! hand query at the median. It also counts how many queries each answers,
//! and times the cart text parser per message. `-- --quick` or
//! `WCRM_BENCH_QUICK=1` for a short run. Ends with `summary:` lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use whatsapp_crm_core::commerce::parse_text;
use whatsapp_crm_core::{Crm, NewBusiness, NewProduct};
use whatsapp_crm_sqlite::SqliteStorage;

const PRODUCTS: usize = 100_000;
/// Ours over the hand query at the median, on the queries both answer.
const P50_RATIO_TARGET: f64 = 1.0;

#[rustfmt::skip]
const BRANDS: &[&str] = &[
    "Jogoo", "Pembe", "Soko", "Kabras", "Mumias", "Brookside", "Tuzo", "Ketepa", "Kimbo",
    "Elianto", "Golden", "Fresha", "Daima", "Afya", "Menengai", "Kensalt", "Dormans", "Highlands",
    "Mama", "Neema", "Baraka", "Savannah", "Tusker", "Zesta", "Kenchic",
];
/// The item word and its category.
#[rustfmt::skip]
const ITEMS: &[(&str, &str)] = &[
    ("Maize Flour", "Flour"), ("Wheat Flour", "Flour"), ("Unga", "Flour"), ("Sugar", "Baking"),
    ("Brown Sugar", "Baking"), ("Rice", "Rice"), ("Pishori Rice", "Rice"), ("Milk", "Dairy"),
    ("Yoghurt", "Dairy"), ("Butter", "Dairy"), ("Cooking Oil", "Oils"), ("Margarine", "Oils"),
    ("Tea Leaves", "Beverages"), ("Coffee", "Beverages"), ("Drinking Water", "Beverages"),
    ("Orange Juice", "Beverages"), ("Bread", "Bakery"), ("Bar Soap", "Household"),
    ("Detergent", "Household"), ("Salt", "Baking"), ("Beans", "Pulses"), ("Lentils", "Pulses"),
    ("Tomatoes", "Vegetables"), ("Onions", "Vegetables"), ("Potatoes", "Vegetables"),
    ("Bananas", "Fruit"), ("Mangoes", "Fruit"), ("Honey", "Spreads"), ("Peanut Butter", "Spreads"),
    ("Ginger", "Spices"), ("Chicken", "Meat"), ("Beef", "Meat"), ("Tilapia", "Fish"),
    ("Phone Charger", "Electronics"), ("Batteries", "Electronics"),
    ("Toothpaste", "Personal care"), ("Lotion", "Personal care"), ("Diapers", "Baby"),
    ("Spaghetti", "Pasta"), ("Biscuits", "Snacks"),
];
#[rustfmt::skip]
const SIZES: &[&str] = &[
    "250g", "500g", "1kg", "2kg", "5kg", "500ml", "1 litre", "2 litres", "pack of 6", "pack of 12",
];

/// Queries, each with the word the answer's name must hold.
#[rustfmt::skip]
const QUERIES: &[(&str, &str)] = &[
    ("maize flour", "Maize"), ("sugar", "Sugar"), ("pishori rice", "Pishori"), ("milk", "Milk"),
    ("cooking oil", "Oil"), ("coffee", "Coffee"), ("detergent", "Detergent"),
    ("tilapia", "Tilapia"), ("suger", "Sugar"), ("yoghurt", "Yoghurt"), ("yogurt", "Yoghurt"),
    ("margarin", "Margarine"), ("tomatos", "Tomatoes"), ("spagheti", "Spaghetti"),
    ("tothpaste", "Toothpaste"), ("sukari", "Sugar"), ("maziwa", "Milk"), ("mchele", "Rice"),
    ("mafuta", "Oil"), ("asali", "Honey"),
];

#[rustfmt::skip]
const MESSAGES: &[&str] = &[
    "add 2 unga", "ongeza sukari 1", "remove sugar", "ondoa", "cart", "kikapu", "checkout", "lipa",
    "clear", "habari, mnafungua saa ngapi?", "nataka kujua bei ya mchele", "add three bread",
    "Thank you, I received the order yesterday", "ongeza mbili maziwa", "weka unga 5x",
];

fn product(i: usize) -> NewProduct {
    let brand = BRANDS[i % BRANDS.len()];
    let (item, category) = ITEMS[(i / BRANDS.len()) % ITEMS.len()];
    let size = SIZES[(i / (BRANDS.len() * ITEMS.len())) % SIZES.len()];
    let batch = i / (BRANDS.len() * ITEMS.len() * SIZES.len());
    NewProduct {
        sku: format!("SKU-{i:06}"),
        name: format!("{brand} {item} {size}"),
        description: Some(format!("{item} by {brand}, lot {batch}")),
        category: Some(category.into()),
        price_minor: 5_000 + (i as i64 % 400) * 100,
        active: true,
        on_hand: Some((i % 50) as u32),
        ..NewProduct::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Latencies of ours and of the hand query over the same queries.
#[derive(Default)]
struct Timings {
    ours: Vec<Duration>,
    hand: Vec<Duration>,
}

impl Timings {
    fn push(&mut self, ours: Duration, hand: Duration) {
        self.ours.push(ours);
        self.hand.push(hand);
    }

    /// Prints p50 and p99 of each and their ratios; returns the ratios.
    fn report(&mut self, over: &str) -> (f64, f64) {
        self.ours.sort();
        self.hand.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut ratios = [0.0; 2];
        for (i, p) in [0.5, 0.99].into_iter().enumerate() {
            let (o, h) = (ms(percentile(&self.ours, p)), ms(percentile(&self.hand, p)));
            ratios[i] = o / h;
            println!(
                "summary: catalog search {PRODUCTS} products sqlite p{} over {over} = {o:.2} ms ours, {h:.2} ms fts5, ours/fts5 = {:.2} x",
                (p * 100.0) as u32,
                ratios[i]
            );
        }
        (ratios[0], ratios[1])
    }
}

fn main() {
    let quick = benches::quick_mode();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let (crm, business) = rt.block_on(async {
        let storage = SqliteStorage::open(&path).await.unwrap();
        storage.migrate().await.unwrap();
        let crm = Crm::new(Arc::new(storage));
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
        let started = Instant::now();
        for chunk in (0..PRODUCTS).collect::<Vec<_>>().chunks(5_000) {
            let mut csv = String::from("sku,name,description,category,price,on_hand\n");
            for &i in chunk {
                let p = product(i);
                csv.push_str(&format!(
                    "{},{},\"{}\",{},{}.00,{}\n",
                    p.sku,
                    p.name,
                    p.description.unwrap_or_default(),
                    p.category.unwrap_or_default(),
                    p.price_minor / 100,
                    p.on_hand.unwrap_or(0)
                ));
            }
            crm.catalog().import_csv(shop.id, csv.as_bytes()).await.unwrap();
        }
        println!("imported {PRODUCTS} products in {:.1} s", started.elapsed().as_secs_f64());
        (crm, shop.id)
    });

    // The hand-written alternative, in the same file.
    let bare = benches::bare_sqlite(&path).unwrap();
    bare.execute_batch(
        "CREATE VIRTUAL TABLE hand_fts USING fts5(name, category, description, sku);
         INSERT INTO hand_fts (rowid, name, category, description, sku)
           SELECT search_key, name, category, description, sku FROM products;",
    )
    .unwrap();
    let hand = |q: &str| -> Vec<String> {
        let words: Vec<String> = q.split_whitespace().map(|w| format!("\"{w}\"")).collect();
        let mut stmt = bare
            .prepare_cached(
                "SELECT p.name FROM hand_fts f JOIN products p ON p.search_key = f.rowid
                 WHERE hand_fts MATCH ?1 ORDER BY f.rank LIMIT 10",
            )
            .unwrap();
        stmt.query_map([words.join(" ")], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let ours = |q: &str| -> Vec<String> {
        rt.block_on(crm.catalog().search(business, q, 10, false))
            .unwrap()
            .into_iter()
            .map(|h| h.product.name)
            .collect()
    };

    // Which queries each answers (the product asked for in the top 3).
    let mut answered_ours = 0;
    let mut hand_answers = vec![false; QUERIES.len()];
    for (i, (q, word)) in QUERIES.iter().enumerate() {
        answered_ours += usize::from(ours(q).iter().take(3).any(|n| n.contains(word)));
        hand_answers[i] = hand(q).iter().take(3).any(|n| n.contains(word));
    }
    let answered_hand = hand_answers.iter().filter(|a| **a).count();

    // Alternate the two on each query, so drift hits both alike.
    let rounds = if quick { 5 } else { 25 };
    let mut all = Timings::default();
    let mut both = Timings::default();
    for _ in 0..rounds {
        for (i, (q, _)) in QUERIES.iter().enumerate() {
            let s = Instant::now();
            std::hint::black_box(ours(q));
            let o = s.elapsed();
            let s = Instant::now();
            std::hint::black_box(hand(q));
            let h = s.elapsed();
            all.push(o, h);
            if hand_answers[i] {
                both.push(o, h);
            }
        }
    }

    let mut c = Criterion::default().configure_from_args();
    if quick {
        c = c.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    }
    c.bench_function("cart_parser_per_message", |b| {
        b.iter(|| {
            for m in MESSAGES {
                std::hint::black_box(parse_text(m));
            }
        })
    });
    let started = Instant::now();
    let reps = 20_000;
    for _ in 0..reps {
        for m in MESSAGES {
            std::hint::black_box(parse_text(std::hint::black_box(m)));
        }
    }
    let parser_ns = started.elapsed().as_nanos() as f64 / (reps * MESSAGES.len()) as f64;
    c.final_summary();

    all.report("all 20 queries");
    let (ratio50, _) = both.report("the queries fts5 answers");
    println!(
        "summary: catalog search queries answered in the top 3 = {answered_ours}/{} ours, {answered_hand}/{} fts5",
        QUERIES.len(),
        QUERIES.len()
    );
    println!("summary: cart text parser = {parser_ns:.0} ns/message");
    if ratio50 > P50_RATIO_TARGET {
        println!("summary: catalog search p50 target ({P50_RATIO_TARGET} x) missed");
    }
}
