//! Catalog search: tolerant of typos, in English and Swahili, over name,
//! description, category, attributes and SKU.
//!
//! Search runs in two steps so that every backend ranks alike:
//!
//! 1. **Candidates**, pushed down to storage: products sharing padded
//!    trigrams with the query or its translations ([`SearchQuery::grams`]).
//!    Each product's grams are kept beside it ([`product_grams`]): an FTS5
//!    table on SQLite, an indexed array on PostgreSQL.
//! 2. **Ranking**, here: [`rank`] scores each candidate word by word (exact,
//!    prefix, within an edit or two, trigram-similar), weighted by field.
//!
//! A query word matches a product word by its translation too: `sukari`
//! finds *Sugar 1 kg* and `flour` finds *Unga wa Ngano*.

use std::collections::BTreeSet;

use crate::domain::Product;

/// Candidates storage returns per query before ranking.
pub const CANDIDATES_MAX: u32 = 200;
/// Most results one search returns.
pub const SEARCH_LIMIT_MAX: u32 = 50;
/// Longest query read; the rest is ignored.
pub const QUERY_MAX_CHARS: usize = 200;
/// Most words of a query that count.
const QUERY_WORDS_MAX: usize = 8;
/// Marks the start and end of a word inside a gram (`_mi`, `lk_`).
const PAD: char = '_';

/// Words that mean the same thing in Swahili and English, as shops in East
/// Africa label and customers ask for them.
const TRANSLATIONS: &[(&str, &str)] = &[
    ("unga", "flour"),
    ("ngano", "wheat"),
    ("mahindi", "maize"),
    ("sukari", "sugar"),
    ("chumvi", "salt"),
    ("mchele", "rice"),
    ("maziwa", "milk"),
    ("mafuta", "oil"),
    ("chai", "tea"),
    ("kahawa", "coffee"),
    ("mkate", "bread"),
    ("sabuni", "soap"),
    ("maji", "water"),
    ("mayai", "eggs"),
    ("yai", "egg"),
    ("nyama", "meat"),
    ("kuku", "chicken"),
    ("samaki", "fish"),
    ("ndizi", "bananas"),
    ("nyanya", "tomatoes"),
    ("vitunguu", "onions"),
    ("viazi", "potatoes"),
    ("maharagwe", "beans"),
    ("dengu", "lentils"),
    ("siagi", "butter"),
    ("asali", "honey"),
    ("juisi", "juice"),
    ("nguo", "clothes"),
    ("viatu", "shoes"),
    ("simu", "phone"),
    ("betri", "battery"),
    ("dawa", "medicine"),
    ("mboga", "vegetables"),
    ("matunda", "fruit"),
    ("embe", "mango"),
    ("machungwa", "oranges"),
    ("nazi", "coconut"),
    ("pilipili", "pepper"),
    ("tangawizi", "ginger"),
    ("kitunguu", "onion"),
];

/// Lower case, accents folded, anything but letters and digits a space.
pub fn normalize(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect()
}

/// The normalised words of `text`.
pub fn words(text: &str) -> Vec<String> {
    normalize(text).split_whitespace().map(str::to_owned).collect()
}

/// The word in the other language, if the table has it.
pub fn translations(word: &str) -> impl Iterator<Item = &'static str> + '_ {
    TRANSLATIONS.iter().filter_map(move |&(sw, en)| {
        if sw == word {
            Some(en)
        } else if en == word {
            Some(sw)
        } else {
            None
        }
    })
}

/// The padded trigrams of one word: `milk` gives `__m _mi mil ilk lk_`.
fn word_grams(word: &str, out: &mut BTreeSet<String>) {
    let padded: Vec<char> =
        [PAD, PAD].into_iter().chain(word.chars()).chain(std::iter::once(PAD)).collect();
    for w in padded.windows(3) {
        out.insert(w.iter().collect());
    }
}

/// Every gram of a product's searchable text, for storage to index.
pub fn product_grams(p: &Product) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for w in product_words(p) {
        word_grams(&w, &mut out);
    }
    out
}

/// A product's searchable words: name, category, SKU, description and
/// attribute values.
fn product_words(p: &Product) -> impl Iterator<Item = String> + '_ {
    let fields = [Some(p.name.as_str()), p.category.as_deref(), Some(p.sku.as_str())];
    fields
        .into_iter()
        .flatten()
        .chain(p.description.as_deref())
        .chain(p.attributes.values().map(String::as_str))
        .flat_map(words)
}

/// One query word and its translations.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    word: String,
    translated: Vec<&'static str>,
}

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    raw: String,
    terms: Vec<Term>,
}

impl SearchQuery {
    /// Reads a query: its first words, each with its translations.
    pub fn parse(text: &str) -> Self {
        let text: String = text.chars().take(QUERY_MAX_CHARS).collect();
        let terms = words(&text)
            .into_iter()
            .take(QUERY_WORDS_MAX)
            .map(|word| Term { translated: translations(&word).collect(), word })
            .collect();
        Self { raw: text.trim().to_lowercase(), terms }
    }

    /// True when the query has no words.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The grams candidates must share at least one of.
    pub fn grams(&self) -> Vec<String> {
        let mut out = BTreeSet::new();
        for t in &self.terms {
            word_grams(&t.word, &mut out);
            for w in &t.translated {
                word_grams(w, &mut out);
            }
        }
        out.into_iter().collect()
    }
}

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

/// Optimal string alignment distance (Levenshtein plus swapping two
/// neighbours), stopping early past `max`.
fn edit_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        d[i * w] = i;
        let mut row_min = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
    }
    Some(d[a.len() * w + b.len()]).filter(|&v| v <= max)
}

/// How well query word `q` matches product word `d`, 0 to 1.
fn word_match(q: &str, d: &str) -> f64 {
    if q == d {
        return 1.0;
    }
    let (qc, dc): (Vec<char>, Vec<char>) = (q.chars().collect(), d.chars().collect());
    if qc.len() >= 3 && d.starts_with(q) {
        return 0.85;
    }
    let allowed = edits_allowed(qc.len().min(dc.len()));
    match edit_distance(&qc, &dc, allowed) {
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

/// The candidates a store without an index finds: products sharing at least
/// one gram, most shared first. The in-memory backend uses it; the SQL
/// backends do the same with their indexes.
pub fn candidates<'a>(
    query: &SearchQuery,
    products: impl Iterator<Item = &'a Product>,
    limit: u32,
) -> Vec<Product> {
    let grams: BTreeSet<String> = query.grams().into_iter().collect();
    let mut scored: Vec<(usize, &Product)> = products
        .map(|p| (product_grams(p).intersection(&grams).count(), p))
        .filter(|(n, _)| *n > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    scored.into_iter().take(limit as usize).map(|(_, p)| p.clone()).collect()
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
    fn words_fold_case_accents_and_punctuation() {
        assert_eq!(words("Café-Crème, 2kg!"), ["cafe", "creme", "2kg"]);
        assert_eq!(translations("sukari").collect::<Vec<_>>(), ["sugar"]);
        assert_eq!(translations("flour").collect::<Vec<_>>(), ["unga"]);
    }

    #[test]
    fn grams_are_padded_trigrams() {
        let q = SearchQuery::parse("milk");
        assert!(q.grams().contains(&"__m".to_string()));
        assert!(q.grams().contains(&"lk_".to_string()));
        // Translations bring their own grams.
        assert!(q.grams().contains(&"ziw".to_string()), "maziwa");
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&c("mlik"), &c("milk"), 1), Some(1));
        assert_eq!(edit_distance(&c("sugr"), &c("sugar"), 1), Some(1));
        assert_eq!(edit_distance(&c("abc"), &c("xyz"), 1), None);
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
            rank(&q, candidates(&q, all.iter(), CANDIDATES_MAX), 3)
                .first()
                .map(|h| h.product.sku.clone())
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
