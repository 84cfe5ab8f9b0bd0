//! The intent model: TF-IDF over the features of [`features`](super::features)
//! (sublinear term frequency, smoothed IDF, each family L2-normalised) and a
//! multinomial logistic regression over the business's intents. Classifying
//! is a hash lookup per feature and one row of weights per feature found, so
//! it costs microseconds and never touches the network.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::features::{self, Block};

/// What a model file starts with.
const MAGIC: &[u8; 4] = b"WCIM";
/// The model file layout's version.
const FORMAT: u16 = 1;

/// One intent and how likely the text means it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scored {
    /// The intent (`faq:<id>` for an FAQ of its own).
    pub intent: String,
    /// Probability in [0, 1]; a ranking's probabilities sum to 1.
    pub probability: f64,
}

/// Intents by probability, most likely first; the probabilities sum to 1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Ranking(pub Vec<Scored>);

impl Ranking {
    /// Builds a ranking from (intent, weight) pairs: weights are scaled to
    /// sum to 1 and sorted, most likely first (ties by intent name).
    pub fn from_weights(pairs: impl IntoIterator<Item = (String, f64)>) -> Self {
        let mut items: Vec<Scored> = pairs
            .into_iter()
            .map(|(intent, w)| Scored { intent, probability: w.max(0.0) })
            .collect();
        let total: f64 = items.iter().map(|s| s.probability).sum();
        if total > 0.0 {
            items.iter_mut().for_each(|s| s.probability /= total);
        } else if !items.is_empty() {
            let even = 1.0 / items.len() as f64;
            items.iter_mut().for_each(|s| s.probability = even);
        }
        items.sort_by(|a, b| {
            b.probability.total_cmp(&a.probability).then_with(|| a.intent.cmp(&b.intent))
        });
        Self(items)
    }

    /// The most likely intent.
    pub fn top(&self) -> Option<&Scored> {
        self.0.first()
    }

    /// Probability of the most likely intent (0 when there is none).
    pub fn p1(&self) -> f64 {
        self.0.first().map_or(0.0, |s| s.probability)
    }

    /// Probability of the second most likely intent (0 when there is none).
    pub fn p2(&self) -> f64 {
        self.0.get(1).map_or(0.0, |s| s.probability)
    }

    /// The first `n` intents.
    pub fn truncated(mut self, n: usize) -> Self {
        self.0.truncate(n);
        self
    }
}

/// Why a model file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Not a model file, or from a newer version.
    #[error("not an intent model (or a newer format)")]
    Format,
    /// The file ends early or its sizes disagree.
    #[error("the intent model is truncated or corrupt")]
    Corrupt,
}

/// Hashes are already uniform: use them as they are.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type FeatureIndex = HashMap<u64, u32, BuildHasherDefault<IdHasher>>;

/// A trained intent classifier.
#[derive(Clone)]
pub struct IntentModel {
    pub(crate) labels: Vec<String>,
    /// Feature hashes, sorted; a feature's position is its row.
    pub(crate) hashes: Vec<u64>,
    pub(crate) idf: Vec<f32>,
    /// Row-major: one row of `labels.len()` weights per feature.
    pub(crate) weights: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    pub(crate) index: FeatureIndex,
}

impl std::fmt::Debug for IntentModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntentModel")
            .field("labels", &self.labels.len())
            .field("features", &self.hashes.len())
            .finish()
    }
}

/// A document as the model reads it: (row, value) per known feature, each
/// family L2-normalised.
pub(crate) fn vectorize(
    counted: &[(u64, u32)],
    index: &FeatureIndex,
    idf: &[f32],
    out: &mut Vec<(u32, f32)>,
) {
    out.clear();
    let mut norms = [0f32; 2];
    let mut split = 0;
    for block in Block::ALL {
        for (h, n) in counted.iter().filter(|(h, _)| Block::of(*h) == block) {
            if let Some(&row) = index.get(h) {
                let v = (1.0 + (*n as f32).ln()) * idf[row as usize];
                norms[block as usize] += v * v;
                out.push((row, v));
            }
        }
        if block == Block::Word {
            split = out.len();
        }
    }
    for (i, (_, v)) in out.iter_mut().enumerate() {
        let norm = norms[usize::from(i >= split)].sqrt();
        if norm > 0.0 {
            *v /= norm;
        }
    }
}

/// Softmax of `logits` in place.
pub(crate) fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in logits.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    for l in logits.iter_mut() {
        *l /= sum;
    }
}

impl IntentModel {
    /// The intents it tells apart, in model order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// How many features it knows.
    pub fn features(&self) -> usize {
        self.hashes.len()
    }

    /// Probabilities of each label for already normalised text, in model
    /// order. Text with no known feature gets the bias alone.
    pub fn probabilities(&self, normalized: &str) -> Vec<f32> {
        let counted = features::counted(normalized);
        let mut x = Vec::with_capacity(counted.len());
        vectorize(&counted, &self.index, &self.idf, &mut x);
        let k = self.labels.len();
        let mut logits = self.bias.clone();
        for (row, v) in &x {
            let start = *row as usize * k;
            for (l, w) in logits.iter_mut().zip(&self.weights[start..start + k]) {
                *l += v * w;
            }
        }
        softmax(&mut logits);
        logits
    }

    /// Ranks the intents for `text` (normalised here).
    pub fn classify(&self, text: &str) -> Ranking {
        self.classify_normalized(&super::normalize(text))
    }

    /// Ranks the intents for already normalised text.
    pub fn classify_normalized(&self, normalized: &str) -> Ranking {
        let p = self.probabilities(normalized);
        Ranking::from_weights(self.labels.iter().cloned().zip(p.into_iter().map(f64::from)))
    }

    /// The model as bytes: the same model always gives the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + self.hashes.len() * 12 + self.weights.len() * 4 + self.labels.len() * 24,
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        put_u32(&mut out, self.labels.len());
        for l in &self.labels {
            put_u32(&mut out, l.len());
            out.extend_from_slice(l.as_bytes());
        }
        put_u32(&mut out, self.hashes.len());
        for h in &self.hashes {
            out.extend_from_slice(&h.to_le_bytes());
        }
        for f in self.idf.iter().chain(&self.bias).chain(&self.weights) {
            out.extend_from_slice(&f.to_le_bytes());
        }
        out
    }

    /// Reads a model written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC || r.u16()? != FORMAT {
            return Err(ModelError::Format);
        }
        let n_labels = r.u32()?;
        let mut labels = Vec::with_capacity(n_labels.min(4096));
        for _ in 0..n_labels {
            let len = r.u32()?;
            let text = std::str::from_utf8(r.take(len)?).map_err(|_| ModelError::Corrupt)?;
            labels.push(text.to_owned());
        }
        let n = r.u32()?;
        let hashes: Vec<u64> = r
            .take(n.checked_mul(8).ok_or(ModelError::Corrupt)?)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let idf = r.floats(n)?;
        let bias = r.floats(n_labels)?;
        let weights = r.floats(n.checked_mul(n_labels).ok_or(ModelError::Corrupt)?)?;
        if !r.0.is_empty() || labels.is_empty() || hashes.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ModelError::Corrupt);
        }
        Ok(Self::assemble(labels, hashes, idf, weights, bias))
    }

    pub(crate) fn assemble(
        labels: Vec<String>,
        hashes: Vec<u64>,
        idf: Vec<f32>,
        weights: Vec<f32>,
        bias: Vec<f32>,
    ) -> Self {
        let mut index = FeatureIndex::with_capacity_and_hasher(hashes.len(), Default::default());
        for (i, h) in hashes.iter().enumerate() {
            index.insert(*h, i as u32);
        }
        Self { labels, hashes, idf, weights, bias, index }
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if self.0.len() < n {
            return Err(ModelError::Corrupt);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, ModelError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().map_err(|_| ModelError::Corrupt)?))
    }

    fn u32(&mut self) -> Result<usize, ModelError> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| ModelError::Corrupt)?);
        usize::try_from(n).map_err(|_| ModelError::Corrupt)
    }

    fn floats(&mut self, n: usize) -> Result<Vec<f32>, ModelError> {
        Ok(self
            .take(n.checked_mul(4).ok_or(ModelError::Corrupt)?)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect())
    }
}
