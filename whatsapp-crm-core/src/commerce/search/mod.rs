//! Catalog search: tolerant of typos, in English and Swahili, over name,
//! description, category, attributes and SKU.
//!
//! Search runs in two steps so that every backend ranks alike:
//!
//! 1. **Candidates**, pushed down to storage in stages
//!    ([`SearchQuery::stages`]): first the products holding every word as
//!    typed, then every word or its translation, then (for misspellings)
//!    products sharing neighbouring trigram pairs with the query. The search
//!    stops once a stage has found enough. Each product's terms (its words
//!    and their padded trigrams, [`product_terms`]) are kept beside it: an
//!    FTS5 table on SQLite, an indexed array on PostgreSQL.
//! 2. **Ranking**, here: [`rank`] scores each candidate word by word (exact,
//!    prefix, within an edit or two), weighted by field.
//!
//! A query word matches a product word by its translation too: `sukari`
//! finds *Sugar 1 kg* and `flour` finds *Unga wa Ngano*.

mod index;
mod rank;
mod text;

pub use index::{
    CANDIDATES_MAX, Candidates, ENOUGH_CANDIDATES, QUERY_MAX_CHARS, SearchQuery, candidates,
    gather, product_terms, search_in,
};
pub use rank::{SEARCH_LIMIT_MAX, SearchHit, rank, score, score_name};
pub use text::{normalize, translations, words};
