//! Training an [`IntentModel`]: a sparse multinomial logistic regression
//! fitted by stochastic gradient descent over shuffled examples.
//!
//! Dense-matrix learners would need |examples| × |features| floats (10,000
//! × 100,000 is 4 GB); here each example touches only its own features'
//! rows. Training is deterministic: the order of examples comes from a
//! seeded generator and the arithmetic is sequential, so the same data and
//! config give byte-identical models.

use std::collections::BTreeMap;

use super::features;
use super::model::{FeatureIndex, IntentModel, softmax, vectorize};
use super::normalize;

/// How a model is trained. The defaults were chosen on BANKING77 (see the
/// README's assistant section).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the examples.
    pub epochs: u32,
    /// Step size at the start; it decays as `1 / (1 + epoch)`.
    pub learning_rate: f32,
    /// L2 penalty on the weights an example touches.
    pub l2: f32,
    /// A feature must occur in this many examples to be kept.
    pub min_df: u32,
    /// Seeds the order of examples.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self { epochs: 12, learning_rate: 1.0, l2: 1e-6, min_df: 1, seed: 0x5eed }
    }
}

/// Examples from which features seen in one example only are dropped:
/// large sets lose no accuracy by it (BANKING77) and halve the model; small
/// sets keep every feature.
pub const PRUNE_FROM_EXAMPLES: usize = 2_000;

impl TrainConfig {
    /// The configuration for `examples` examples: the defaults, pruning
    /// rare features from [`PRUNE_FROM_EXAMPLES`] on.
    pub fn for_examples(examples: usize) -> Self {
        Self { min_df: if examples >= PRUNE_FROM_EXAMPLES { 2 } else { 1 }, ..Self::default() }
    }
}

/// Why training could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A classifier needs at least two intents to choose between.
    #[error("at least two intents with examples are needed; found {found}")]
    TooFewIntents {
        /// Intents with at least one example.
        found: usize,
    },
}

/// One labelled example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// What a customer might write.
    pub text: String,
    /// The intent it means.
    pub intent: String,
}

impl Example {
    /// An example of `intent`.
    pub fn new(text: impl Into<String>, intent: impl Into<String>) -> Self {
        Self { text: text.into(), intent: intent.into() }
    }
}

/// SplitMix64: small, fast and the same everywhere.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Trains a model on `examples`. Intents are ordered by name; examples
/// whose text normalises to nothing are skipped.
pub fn train(examples: &[Example], config: &TrainConfig) -> Result<IntentModel, TrainError> {
    let mut label_of: BTreeMap<&str, u32> = BTreeMap::new();
    let docs: Vec<(Vec<(u64, u32)>, &str)> = examples
        .iter()
        .filter_map(|e| {
            let counted = features::counted(&normalize(&e.text));
            (!counted.is_empty()).then_some((counted, e.intent.as_str()))
        })
        .collect();
    for (_, intent) in &docs {
        label_of.entry(intent).or_insert(0);
    }
    if label_of.len() < 2 {
        return Err(TrainError::TooFewIntents { found: label_of.len() });
    }
    for (i, (_, v)) in label_of.iter_mut().enumerate() {
        *v = i as u32;
    }
    let labels: Vec<String> = label_of.keys().map(|l| (*l).to_owned()).collect();
    let k = labels.len();

    // Document frequencies decide the vocabulary and its IDF.
    let mut df: BTreeMap<u64, u32> = BTreeMap::new();
    for (counted, _) in &docs {
        for (h, _) in counted {
            *df.entry(*h).or_insert(0) += 1;
        }
    }
    let hashes: Vec<u64> =
        df.iter().filter(|(_, n)| **n >= config.min_df).map(|(h, _)| *h).collect();
    let n_docs = docs.len() as f32;
    let idf: Vec<f32> =
        hashes.iter().map(|h| ((1.0 + n_docs) / (1.0 + df[h] as f32)).ln() + 1.0).collect();
    let mut index = FeatureIndex::with_capacity_and_hasher(hashes.len(), Default::default());
    for (i, h) in hashes.iter().enumerate() {
        index.insert(*h, i as u32);
    }
    let rows: Vec<(Vec<(u32, f32)>, usize)> = docs
        .iter()
        .map(|(counted, intent)| {
            let mut x = Vec::new();
            vectorize(counted, &index, &idf, &mut x);
            (x, label_of[intent] as usize)
        })
        .collect();

    let mut weights = vec![0f32; hashes.len() * k];
    let mut bias = vec![0f32; k];
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = Rng(config.seed);
    let mut p = vec![0f32; k];
    for epoch in 0..config.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let lr = config.learning_rate / (1.0 + epoch as f32);
        let decay = 1.0 - lr * config.l2;
        for &doc in &order {
            let (x, y) = &rows[doc];
            p.copy_from_slice(&bias);
            for (row, v) in x {
                let start = *row as usize * k;
                for (l, w) in p.iter_mut().zip(&weights[start..start + k]) {
                    *l += v * w;
                }
            }
            softmax(&mut p);
            p[*y] -= 1.0;
            for (row, v) in x {
                let start = *row as usize * k;
                let step = lr * v;
                for (w, g) in weights[start..start + k].iter_mut().zip(&p) {
                    *w = *w * decay - step * g;
                }
            }
            for (b, g) in bias.iter_mut().zip(&p) {
                *b -= lr * g;
            }
        }
    }
    Ok(IntentModel::assemble(labels, hashes, idf, weights, bias))
}
