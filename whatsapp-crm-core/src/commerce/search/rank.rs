//! Ranking: each candidate scored word by word against the query.

use super::index::SearchQuery;
use super::text::words;
use crate::domain::Product;

/// Most results one search returns.
pub const SEARCH_LIMIT_MAX: u32 = 50;

/// A ranked result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The product.
    pub product: Product,
    /// Its score; higher is better.
    pub score: f64,
}

/// Edits allowed between a query word and a product word of this length.
fn edits_allowed(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

/// Longest word whose edit distance runs on the stack.
const STACK_WORD: usize = 32;

/// Optimal string alignment distance (Levenshtein plus swapping two
/// neighbours), stopping early past `max`. Three rolling rows: ranking runs
/// it for every query word against every product word of every candidate.
fn edit_distance<T: PartialEq>(a: &[T], b: &[T], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut stack = [0usize; 3 * (STACK_WORD + 1)];
    let mut heap = Vec::new();
    let rows: &mut [usize] = if w <= STACK_WORD + 1 {
        &mut stack[..3 * w]
    } else {
        heap.resize(3 * w, 0);
        &mut heap
    };
    let (mut before, mut prev, mut cur) = (0, w, 2 * w);
    for (j, cell) in rows[prev..prev + w].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[cur] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v =
                (rows[prev + j] + 1).min(rows[cur + j - 1] + 1).min(rows[prev + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(rows[before + j - 2] + 1);
            }
            rows[cur + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        (before, prev, cur) = (prev, cur, before);
    }
    Some(rows[prev + b.len()]).filter(|&v| v <= max)
}

/// How well query word `q` matches product word `d`, 0 to 1.
fn word_match(q: &str, d: &str) -> f64 {
    if q == d {
        return 1.0;
    }
    let ascii = q.is_ascii() && d.is_ascii();
    let (ql, dl) = if ascii { (q.len(), d.len()) } else { (q.chars().count(), d.chars().count()) };
    if ql >= 3 && d.starts_with(q) {
        return 0.85;
    }
    let allowed = edits_allowed(ql.min(dl));
    if allowed == 0 || ql.abs_diff(dl) > allowed {
        return 0.0;
    }
    let distance = if ascii {
        edit_distance(q.as_bytes(), d.as_bytes(), allowed)
    } else {
        let (qc, dc): (Vec<char>, Vec<char>) = (q.chars().collect(), d.chars().collect());
        edit_distance(&qc, &dc, allowed)
    };
    match distance {
        Some(1) => 0.75,
        Some(2) => 0.55,
        _ => 0.0,
    }
}

/// Field weights: a word in the name or SKU says more than one in the
/// description.
const NAME: f64 = 3.0;
const SKU: f64 = 3.0;
const CATEGORY: f64 = 2.0;
const DETAIL: f64 = 1.0;
/// A translated word counts a little less than the word typed.
const TRANSLATED: f64 = 0.9;

/// The product's score for `query`; 0 when nothing matches.
pub fn score(query: &SearchQuery, p: &Product) -> f64 {
    let details = p
        .description
        .as_deref()
        .into_iter()
        .chain(p.attributes.values().map(String::as_str))
        .flat_map(words)
        .collect();
    let category = p.category.as_deref().map(words).unwrap_or_default();
    score_fields(
        query,
        &p.sku,
        [(NAME, words(&p.name)), (SKU, words(&p.sku)), (CATEGORY, category), (DETAIL, details)],
    )
}

/// The score of a name and SKU alone (a cart line) for `query`.
pub fn score_name(query: &SearchQuery, name: &str, sku: &str) -> f64 {
    score_fields(
        query,
        sku,
        [(NAME, words(name)), (SKU, words(sku)), (CATEGORY, Vec::new()), (DETAIL, Vec::new())],
    )
}

fn score_fields(query: &SearchQuery, sku: &str, fields: [(f64, Vec<String>); 4]) -> f64 {
    let mut total = 0.0;
    for t in &query.terms {
        let alternatives = std::iter::once((t.word.as_str(), 1.0))
            .chain(t.translated.iter().map(|w| (*w, TRANSLATED)));
        let mut best: f64 = 0.0;
        for (q, factor) in alternatives {
            for (weight, ws) in &fields {
                for d in ws {
                    best = best.max(weight * factor * word_match(q, d));
                }
            }
        }
        total += best;
    }
    if !query.raw.is_empty() && sku.eq_ignore_ascii_case(&query.raw) {
        total += 10.0;
    }
    total
}

/// Scores `candidates` and keeps the best `limit`, best first; ties go to
/// the shorter name, then the SKU.
pub fn rank(query: &SearchQuery, candidates: Vec<Product>, limit: u32) -> Vec<SearchHit> {
    let mut hits: Vec<SearchHit> = candidates
        .into_iter()
        .map(|product| SearchHit { score: score(query, &product), product })
        .filter(|h| h.score > 0.0)
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.product.name.len().cmp(&b.product.name.len()))
            .then(a.product.sku.cmp(&b.product.sku))
    });
    hits.truncate(limit.clamp(1, SEARCH_LIMIT_MAX) as usize);
    hits
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{BusinessId, Currency, NewProduct};

    fn product(sku: &str, name: &str, category: &str) -> Product {
        NewProduct {
            sku: sku.into(),
            name: name.into(),
            category: Some(category.into()),
            price_minor: 100,
            active: true,
            ..NewProduct::default()
        }
        .validate(BusinessId::new(), Currency::KES, Utc::now())
        .unwrap()
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&c("mlik"), &c("milk"), 1), Some(1));
        assert_eq!(edit_distance(&c("sugr"), &c("sugar"), 1), Some(1));
        assert_eq!(edit_distance(&c("abc"), &c("xyz"), 1), None);
        assert_eq!(edit_distance(b"kitten", b"sitting", 3), Some(3));
        assert_eq!(edit_distance(b"ca", b"abc", 3), Some(3), "no substring edits after a swap");
        let long = "a".repeat(40);
        assert_eq!(edit_distance(long.as_bytes(), format!("{long}b").as_bytes(), 2), Some(1));
    }

    #[test]
    fn ranks_exact_then_typo_then_translation() {
        let all = [
            product("SUG-1", "Sugar 1kg", "Baking"),
            product("UNGA-2", "Unga wa Ngano 2kg", "Flour"),
            product("MILK-1", "Fresh Milk 500ml", "Dairy"),
        ];
        let top = |q: &str| {
            let q = SearchQuery::parse(q);
            rank(&q, super::super::search_in(&q, &all), 3).first().map(|h| h.product.sku.clone())
        };
        assert_eq!(top("sugar").as_deref(), Some("SUG-1"));
        assert_eq!(top("sugr").as_deref(), Some("SUG-1"));
        assert_eq!(top("sukari").as_deref(), Some("SUG-1"));
        assert_eq!(top("flour").as_deref(), Some("UNGA-2"));
        assert_eq!(top("maziwa").as_deref(), Some("MILK-1"));
        assert_eq!(top("mlik").as_deref(), Some("MILK-1"));
        assert_eq!(top("milk-1").as_deref(), Some("MILK-1"));
        assert_eq!(top("zzzz"), None);
    }
}
