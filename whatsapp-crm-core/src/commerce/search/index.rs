//! What storage indexes for each product, and the candidate stages a query
//! asks storage for.

use std::collections::BTreeSet;

use super::text::{translations, words};
use crate::domain::Product;

/// Candidates storage returns per stage before ranking.
pub const CANDIDATES_MAX: u32 = 200;
/// A stage that finds at least this many products ends the search; fewer,
/// and the next, looser stage adds to them.
pub const ENOUGH_CANDIDATES: usize = 10;
/// Longest query read; the rest is ignored.
pub const QUERY_MAX_CHARS: usize = 200;
/// Most words of a query that count.
const QUERY_WORDS_MAX: usize = 8;
/// Marks the start and end of a word inside a gram (`_mi`, `lk_`).
const PAD: char = '_';
/// Starts a whole-word term (`w_milk`). A gram is three characters with any
/// pad at its ends, so no gram can look like a word term.
const WORD: &str = "w_";
/// Longest word whose swapped-letter variants the last stage adds.
const SWAP_WORD_MAX: usize = 4;

/// The padded trigrams of one word: `milk` gives `__m _mi mil ilk lk_`.
fn word_grams(word: &str) -> Vec<String> {
    let padded: Vec<char> =
        [PAD, PAD].into_iter().chain(word.chars()).chain(std::iter::once(PAD)).collect();
    padded.windows(3).map(|w| w.iter().collect()).collect()
}

fn word_term(word: &str) -> String {
    format!("{WORD}{word}")
}

/// Every term of a product's searchable text (name, category, SKU,
/// description, attribute values), for storage to index: each word as a
/// whole-word term, and its padded trigrams.
pub fn product_terms(p: &Product) -> BTreeSet<String> {
    let fields = [Some(p.name.as_str()), p.category.as_deref(), Some(p.sku.as_str())];
    let mut out = BTreeSet::new();
    for w in fields
        .into_iter()
        .flatten()
        .chain(p.description.as_deref())
        .chain(p.attributes.values().map(String::as_str))
        .flat_map(words)
    {
        out.extend(word_grams(&w));
        out.insert(word_term(&w));
    }
    out
}

/// One query word and its translations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Term {
    pub(super) word: String,
    pub(super) translated: Vec<&'static str>,
}

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub(super) raw: String,
    pub(super) terms: Vec<Term>,
}

/// One stage of candidate search, as storage carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidates {
    /// Products holding, for every group, at least one of its whole-word
    /// terms; in id order.
    Words(Vec<Vec<String>>),
    /// Products holding both grams of at least one pair (a word within a
    /// typo or two of a query word keeps some neighbouring pair); those
    /// sharing the most of `grams` first.
    Grams {
        /// Neighbouring gram pairs of the query words and translations.
        pairs: Vec<(String, String)>,
        /// Every gram of the query words and translations.
        grams: Vec<String>,
    },
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

    /// The candidate stages, strictest first: every word as typed; every
    /// word or its translation (when some word has one); then products
    /// sharing a neighbouring gram pair with a query word (a typo or two);
    /// last, those sharing its first and last grams (a changed second
    /// letter, a swap in a short word).
    pub fn stages(&self) -> Vec<Candidates> {
        if self.terms.is_empty() {
            return Vec::new();
        }
        let typed = self.terms.iter().map(|t| vec![word_term(&t.word)]).collect();
        let mut out = vec![Candidates::Words(typed)];
        if self.terms.iter().any(|t| !t.translated.is_empty()) {
            let either = self
                .terms
                .iter()
                .map(|t| {
                    std::iter::once(t.word.as_str())
                        .chain(t.translated.iter().copied())
                        .map(word_term)
                        .collect()
                })
                .collect();
            out.push(Candidates::Words(either));
        }
        let alternatives = |t: &Term| -> Vec<String> {
            std::iter::once(t.word.clone())
                .chain(t.translated.iter().map(|w| (*w).to_owned()))
                .collect()
        };
        let grams: BTreeSet<String> =
            self.terms.iter().flat_map(alternatives).flat_map(|w| word_grams(&w)).collect();
        let grams: Vec<String> = grams.into_iter().collect();
        // Neighbouring pairs survive most typos; the first and last grams
        // together catch a changed second letter or a swap inside a short
        // word, which leave no neighbouring pair ("mxlk", "mlik" for milk).
        let (mut near, mut ends) = (BTreeSet::new(), BTreeSet::new());
        for w in self.terms.iter().flat_map(alternatives) {
            let g = word_grams(&w);
            near.extend(g.windows(2).map(|p| (p[0].clone(), p[1].clone())));
            for v in std::iter::once(w.clone()).chain(swaps(&w)) {
                let g = word_grams(&v);
                if let (Some(first), Some(last)) = (g.first(), g.last()) {
                    ends.insert((first.clone(), last.clone()));
                }
                if v != w {
                    ends.extend(g.windows(2).map(|p| (p[0].clone(), p[1].clone())));
                }
            }
        }
        out.push(Candidates::Grams { pairs: near.into_iter().collect(), grams: grams.clone() });
        out.push(Candidates::Grams { pairs: ends.into_iter().collect(), grams });
        out
    }
}

/// The word with two neighbouring letters swapped, each way, for words too
/// short to keep a neighbouring gram pair through a swap.
fn swaps(word: &str) -> Vec<String> {
    let c: Vec<char> = word.chars().collect();
    if c.len() > SWAP_WORD_MAX {
        return Vec::new();
    }
    (1..c.len())
        .map(|i| {
            let mut v = c.clone();
            v.swap(i - 1, i);
            v.into_iter().collect()
        })
        .filter(|v: &String| v != word)
        .collect()
}

impl Candidates {
    /// Whether a product with `terms` belongs to this stage, and how many
    /// query grams it shares (the order of a gram stage).
    pub fn matches(&self, terms: &BTreeSet<String>) -> Option<usize> {
        match self {
            Self::Words(groups) => {
                groups.iter().all(|g| g.iter().any(|w| terms.contains(w))).then_some(0)
            }
            Self::Grams { pairs, grams } => pairs
                .iter()
                .any(|(a, b)| terms.contains(a) && terms.contains(b))
                .then(|| grams.iter().filter(|g| terms.contains(*g)).count()),
        }
    }
}

/// One stage's candidates among `products`, for a store without an index:
/// the in-memory backend uses it; the SQL backends do the same with theirs.
pub fn candidates<'a>(
    stage: &Candidates,
    products: impl Iterator<Item = &'a Product>,
    limit: u32,
) -> Vec<Product> {
    let mut found: Vec<(usize, &Product)> =
        products.filter_map(|p| stage.matches(&product_terms(p)).map(|n| (n, p))).collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    found.into_iter().take(limit as usize).map(|(_, p)| p.clone()).collect()
}

/// Adds a stage's products to those found so far, once each; true when
/// the search has found enough to stop.
pub fn gather(found: &mut Vec<Product>, stage: Vec<Product>) -> bool {
    for p in stage {
        if !found.iter().any(|f| f.id == p.id) {
            found.push(p);
        }
    }
    found.len() >= ENOUGH_CANDIDATES
}

/// Every stage of `query` over `products` in memory, as a service runs them
/// against storage: the candidates [`rank`](super::rank) orders.
pub fn search_in(query: &SearchQuery, products: &[Product]) -> Vec<Product> {
    let mut found = Vec::new();
    for stage in query.stages() {
        if gather(&mut found, candidates(&stage, products.iter(), CANDIDATES_MAX)) {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_are_padded_trigrams() {
        assert_eq!(word_grams("milk"), ["__m", "_mi", "mil", "ilk", "lk_"]);
    }

    #[test]
    fn stages_go_from_typed_words_to_grams() {
        let q = SearchQuery::parse("maziwa fresh");
        let stages = q.stages();
        assert_eq!(
            stages[0],
            Candidates::Words(vec![vec!["w_maziwa".into()], vec!["w_fresh".into()]])
        );
        assert_eq!(
            stages[1],
            Candidates::Words(vec![
                vec!["w_maziwa".into(), "w_milk".into()],
                vec!["w_fresh".into()]
            ])
        );
        let Candidates::Grams { pairs, grams } = &stages[2] else { panic!("{stages:?}") };
        assert!(pairs.contains(&("_mi".into(), "mil".into())), "translations bring their grams");
        assert!(grams.contains(&"ziw".into()));
        let Candidates::Grams { pairs, .. } = &stages[3] else { panic!("{stages:?}") };
        assert!(pairs.contains(&("__m".into(), "wa_".into())), "first and last");
        assert_eq!(SearchQuery::parse("milk").stages().len(), 4);
        assert_eq!(SearchQuery::parse("bread knife").stages().len(), 4);
        assert_eq!(SearchQuery::parse("knife").stages().len(), 3, "no translation stage");
        assert!(SearchQuery::parse(" ,. ").stages().is_empty());
    }

    #[test]
    fn a_typo_keeps_a_neighbouring_pair() {
        let terms: BTreeSet<String> = word_grams("sugar").into_iter().collect();
        for typo in ["suger", "sugr", "shugar", "sugra", "usgar", "sgar"] {
            let q = SearchQuery::parse(typo);
            assert!(q.stages().iter().any(|s| s.matches(&terms).is_some()), "{typo}");
        }
        let terms: BTreeSet<String> = word_grams("milk").into_iter().collect();
        for typo in ["mlik", "mxlk", "milx", "xilk", "mik", "mlk", "miilk"] {
            let q = SearchQuery::parse(typo);
            assert!(q.stages().iter().any(|s| s.matches(&terms).is_some()), "{typo}");
        }
    }
}
