//! Okapi BM25 over normalised text (k1 = 1.2, b = 0.75): which of several
//! FAQ answers a question is closest to. It ranks; it does not decide
//! whether to answer (raw BM25 scores say little about that; the
//! classifier's probability does).

use std::collections::HashMap;

use super::normalize::words;

/// Term-frequency saturation.
pub const K1: f64 = 1.2;
/// Length normalisation.
pub const B: f64 = 0.75;

/// An index of short documents, each belonging to a key (an FAQ has one
/// document per phrasing of its question).
#[derive(Debug, Clone, Default)]
pub struct Bm25<K> {
    docs: Vec<(K, HashMap<String, u32>, usize)>,
    df: HashMap<String, u32>,
    total_len: usize,
}

impl<K: Clone + PartialEq> Bm25<K> {
    /// An empty index.
    pub fn new() -> Self {
        Self { docs: Vec::new(), df: HashMap::new(), total_len: 0 }
    }

    /// Adds one already normalised document under `key`.
    pub fn add(&mut self, key: K, normalized: &str) {
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut len = 0;
        for w in words(normalized) {
            *tf.entry(w.to_owned()).or_insert(0) += 1;
            len += 1;
        }
        for term in tf.keys() {
            *self.df.entry(term.clone()).or_insert(0) += 1;
        }
        self.total_len += len;
        self.docs.push((key, tf, len));
    }

    fn score(&self, query: &[&str], tf: &HashMap<String, u32>, len: usize) -> f64 {
        let n = self.docs.len() as f64;
        let avg = self.total_len as f64 / n.max(1.0);
        query
            .iter()
            .filter_map(|q| {
                let f = f64::from(*tf.get(*q)?);
                let df = f64::from(self.df.get(*q).copied().unwrap_or(0));
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                Some(idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len as f64 / avg.max(1.0))))
            })
            .sum()
    }

    /// The key whose best document scores highest for `normalized`, among
    /// keys `allowed` accepts; ties go to the key added first. `None` when no
    /// document shares a word with the query.
    pub fn best(&self, normalized: &str, allowed: impl Fn(&K) -> bool) -> Option<(K, f64)> {
        let query: Vec<&str> = words(normalized).collect();
        let mut best: Option<(K, f64)> = None;
        for (key, tf, len) in self.docs.iter().filter(|(k, _, _)| allowed(k)) {
            let s = self.score(&query, tf, *len);
            if s > 0.0 && best.as_ref().is_none_or(|(_, b)| s > *b) {
                best = Some((key.clone(), s));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistant::normalize;

    #[test]
    fn the_closest_phrasing_wins() {
        let mut index = Bm25::new();
        index.add("hours", &normalize("What time do you open?"));
        index.add("hours", &normalize("Mnafungua saa ngapi?"));
        index.add("delivery", &normalize("Do you deliver to Westlands?"));
        index.add("delivery", &normalize("Mnaleta mpaka Rongai?"));
        index.add("delivery_fee", &normalize("How much is delivery?"));
        let best = |q: &str| index.best(&normalize(q), |_| true).map(|(k, _)| k);
        assert_eq!(best("what time do you open on saturday"), Some("hours"));
        assert_eq!(best("mnafungua saa ngapi leo"), Some("hours"));
        assert_eq!(best("how much is the delivery fee"), Some("delivery_fee"));
        assert_eq!(best("can you deliver to kilimani"), Some("delivery"));
        assert_eq!(best("xyz"), None);
        let only_delivery =
            index.best(&normalize("how much to deliver"), |k| k.starts_with("delivery"));
        assert!(only_delivery.is_some_and(|(k, _)| k.starts_with("delivery")));
    }
}
