//! The offline intent classifier on BANKING77 (`datasets/banking77`, CC BY
//! 4.0: 10,003 training and 3,080 test messages, 77 intents), beside the
//! retrieval an embedder would write first: BM25 (k1 1.2, b 0.75) over the
//! training messages with an inverted index, answering with the intent of
//! the nearest one. Both read the same normalised text.
//!
//! It prints training (index build) time, classification time per message
//! (the test messages, the two alternating so drift hits both alike; ours
//! includes normalising the text, as the assistant does), and test
//! accuracy of each. Targets: under 100 µs per message and under 10 s of
//! training. `-- --quick` or `WCRM_BENCH_QUICK=1` for a short run. Ends
//! with `summary:` lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use criterion::Criterion;
use whatsapp_crm_core::assistant::{Example, IntentModel, TrainConfig, normalize, train, words};

const CLASSIFY_TARGET_US: f64 = 100.0;
const TRAIN_TARGET_S: f64 = 10.0;

fn read(name: &str) -> Vec<Example> {
    let path = format!("{}/../datasets/banking77/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|r| r.unwrap()).map(|r| Example::new(&r[0], &r[1])).collect()
}

/// BM25 nearest neighbour over an inverted index.
struct Nearest {
    postings: HashMap<String, Vec<(u32, u32)>>,
    lens: Vec<u32>,
    labels: Vec<String>,
    avg: f64,
}

impl Nearest {
    fn build(examples: &[Example]) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lens = Vec::with_capacity(examples.len());
        for (d, e) in examples.iter().enumerate() {
            let text = normalize(&e.text);
            let mut tf: HashMap<&str, u32> = HashMap::new();
            let mut len = 0;
            for w in words(&text) {
                *tf.entry(w).or_insert(0) += 1;
                len += 1;
            }
            for (w, f) in tf {
                postings.entry(w.to_owned()).or_default().push((d as u32, f));
            }
            lens.push(len);
        }
        let avg = f64::from(lens.iter().sum::<u32>()) / lens.len().max(1) as f64;
        Self { postings, lens, labels: examples.iter().map(|e| e.intent.clone()).collect(), avg }
    }

    fn classify(&self, text: &str, scores: &mut Vec<f64>) -> Option<&str> {
        let text = normalize(text);
        scores.clear();
        scores.resize(self.lens.len(), 0.0);
        let n = self.lens.len() as f64;
        for w in words(&text) {
            let Some(list) = self.postings.get(w) else { continue };
            let df = list.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(d, f) in list {
                let f = f64::from(f);
                let len = f64::from(self.lens[d as usize]);
                scores[d as usize] += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len / self.avg));
            }
        }
        let (best, score) = scores
            .iter()
            .enumerate()
            .fold((0, 0.0), |(bi, bs), (i, s)| if *s > bs { (i, *s) } else { (bi, bs) });
        (score > 0.0).then(|| self.labels[best].as_str())
    }
}

fn main() {
    let quick = benches::quick_mode();
    let (train_set, test_set) = (read("train.csv"), read("test.csv"));
    let config = TrainConfig::for_examples(train_set.len());

    let runs = if quick { 1 } else { 3 };
    let mut model: Option<IntentModel> = None;
    let mut train_s = f64::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        let m = train(&train_set, &config).unwrap();
        train_s = train_s.min(started.elapsed().as_secs_f64());
        model = Some(m);
    }
    let model = model.unwrap();
    let mut index_s = f64::MAX;
    let mut nearest: Option<Nearest> = None;
    for _ in 0..runs {
        let started = Instant::now();
        let n = Nearest::build(&train_set);
        index_s = index_s.min(started.elapsed().as_secs_f64());
        nearest = Some(n);
    }
    let nearest = nearest.unwrap();

    let mut scores = Vec::new();
    let ours_right = test_set
        .iter()
        .filter(|e| model.classify(&e.text).top().is_some_and(|s| s.intent == e.intent))
        .count();
    let bm25_right = test_set
        .iter()
        .filter(|e| nearest.classify(&e.text, &mut scores) == Some(e.intent.as_str()))
        .count();

    // Alternate the two on each message.
    let rounds = if quick { 1 } else { 5 };
    let (mut ours_t, mut bm25_t) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        for e in &test_set {
            let s = Instant::now();
            std::hint::black_box(model.classify(std::hint::black_box(&e.text)));
            ours_t += s.elapsed();
            let s = Instant::now();
            std::hint::black_box(nearest.classify(std::hint::black_box(&e.text), &mut scores));
            bm25_t += s.elapsed();
        }
    }
    let per = |t: Duration| t.as_secs_f64() * 1e6 / (rounds * test_set.len()) as f64;
    let (ours_us, bm25_us) = (per(ours_t), per(bm25_t));

    let mut c = Criterion::default().configure_from_args();
    if quick {
        c = c.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    }
    let sample: Vec<&str> = test_set.iter().step_by(31).map(|e| e.text.as_str()).collect();
    c.bench_function("assistant_classify_100_messages_ours", |b| {
        b.iter(|| {
            for t in &sample {
                std::hint::black_box(model.classify(t));
            }
        })
    });
    c.bench_function("assistant_classify_100_messages_bm25_nearest", |b| {
        b.iter(|| {
            for t in &sample {
                std::hint::black_box(nearest.classify(t, &mut scores).map(str::len));
            }
        })
    });
    c.final_summary();

    let pct = |right: usize| right as f64 * 100.0 / test_set.len() as f64;
    println!(
        "summary: assistant classify banking77 77 intents = {ours_us:.1} us/message ours, {bm25_us:.1} us/message bm25 1-nn, ours/bm25 = {:.2} x",
        ours_us / bm25_us
    );
    println!(
        "summary: assistant train banking77 {} examples = {train_s:.2} s ours, {index_s:.3} s bm25 index",
        train_set.len()
    );
    println!(
        "summary: assistant banking77 test accuracy = {:.1} % ours, {:.1} % bm25 1-nn",
        pct(ours_right),
        pct(bm25_right)
    );
    println!(
        "summary: assistant model = {} features, {} bytes",
        model.features(),
        model.to_bytes().len()
    );
    println!(
        "summary: assistant targets (< {CLASSIFY_TARGET_US} us/message, < {TRAIN_TARGET_S} s training) met = {} bool",
        ours_us < CLASSIFY_TARGET_US && train_s < TRAIN_TARGET_S
    );
}
