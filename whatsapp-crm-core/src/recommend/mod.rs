//! Product recommendations, pure: bought-together from co-occurrence in
//! paid orders (item-to-item, Linden et al. 2003), trending by
//! exponentially decayed sales, personal picks from a customer's own orders
//! and the products named in their conversation, and popularity for the
//! rest. Every pick carries its [`Reason`] and the product it came from;
//! what the caller's `keep` refuses (in the basket, inactive, out of stock)
//! is never returned.
//!
//! The model is built once from baskets (a worker's job) and answers in
//! microseconds: each product keeps only its best neighbours.

mod eval;

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use eval::{EvalReport, HitRates, evaluate, planted_baskets, split_baskets};

/// Neighbours kept per product.
pub const NEIGHBOURS_DEFAULT: usize = 30;
/// Half-life of a sale in the trending score, in days.
pub const HALF_LIFE_DEFAULT_DAYS: f64 = 7.0;
/// Items of one basket counted in pairs (a wholesale order of hundreds of
/// lines says little about which two go together, and would cost n²).
pub const BASKET_PAIR_LIMIT: usize = 40;

/// Why a product was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Bought together with a product in the basket or history.
    BoughtTogether,
    /// Selling well lately.
    Trending,
    /// From the customer's own orders or conversation.
    Personal,
    /// Selling well overall.
    Popular,
}

/// How co-occurrence counts are normalised into a score of `b` given `a`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    /// Baskets with both.
    Count,
    /// Count over √(baskets with a · baskets with b).
    Cosine,
    /// Count over baskets with a: P(b | a). Ranks a product's neighbours as
    /// the count does, and adds up across a basket as probabilities.
    #[default]
    Confidence,
    /// Confidence over the share of baskets with b.
    Lift,
}

/// How a model is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelConfig {
    /// Neighbours kept per product.
    pub neighbours: usize,
    /// Half-life of a sale in the trending score.
    pub half_life_days: f64,
    /// Normalisation of co-occurrence.
    pub score: Score,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            neighbours: NEIGHBOURS_DEFAULT,
            half_life_days: HALF_LIFE_DEFAULT_DAYS,
            score: Score::default(),
        }
    }
}

/// One paid order: its products and when it was placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Basket<P> {
    /// Products (repeats count once).
    pub items: Vec<P>,
    /// When it was placed.
    pub at: DateTime<Utc>,
}

/// A recommended product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pick<P> {
    /// The product.
    pub product: P,
    /// Higher is better; comparable within one answer only.
    pub score: f64,
    /// Why.
    pub reason: Reason,
    /// The product it came from (bought together with, or named by the
    /// customer).
    pub because: Option<P>,
}

/// A built model: popularity, trending, and each product's best neighbours.
#[derive(Debug, Clone)]
pub struct Model<P> {
    products: Vec<P>,
    index: HashMap<P, u32>,
    popularity: Vec<f32>,
    trending: Vec<f32>,
    neighbours: Vec<Vec<(u32, f32)>>,
    by_popularity: Vec<u32>,
    by_trend: Vec<u32>,
    baskets: usize,
    built_at: DateTime<Utc>,
}

impl<P: PartialEq> PartialEq for Model<P> {
    // The index is derived from `products`.
    fn eq(&self, o: &Self) -> bool {
        self.products == o.products
            && self.popularity == o.popularity
            && self.trending == o.trending
            && self.neighbours == o.neighbours
            && self.by_popularity == o.by_popularity
            && self.by_trend == o.by_trend
            && self.baskets == o.baskets
            && self.built_at == o.built_at
    }
}

impl<P: Copy + Eq + Hash + Ord> Model<P> {
    /// Builds a model from `baskets` as of `now`.
    pub fn build<'a, I>(baskets: I, now: DateTime<Utc>, config: ModelConfig) -> Self
    where
        I: IntoIterator<Item = &'a Basket<P>>,
        P: 'a,
    {
        let mut products: Vec<P> = Vec::new();
        let mut index: HashMap<P, u32> = HashMap::new();
        let mut popularity: Vec<f32> = Vec::new();
        let mut trending: Vec<f64> = Vec::new();
        let mut pairs: Vec<HashMap<u32, u32>> = Vec::new();
        let decay = std::f64::consts::LN_2 / (config.half_life_days.max(0.01) * 86_400.0);
        let mut count = 0usize;
        let mut items: Vec<u32> = Vec::new();
        for basket in baskets {
            count += 1;
            items.clear();
            for p in &basket.items {
                let i = *index.entry(*p).or_insert_with(|| {
                    products.push(*p);
                    popularity.push(0.0);
                    trending.push(0.0);
                    pairs.push(HashMap::new());
                    (products.len() - 1) as u32
                });
                items.push(i);
            }
            items.sort_unstable();
            items.dedup();
            let age = (now - basket.at).num_seconds().max(0) as f64;
            let weight = (-decay * age).exp();
            for &i in &items {
                popularity[i as usize] += 1.0;
                trending[i as usize] += weight;
            }
            let counted = &items[..items.len().min(BASKET_PAIR_LIMIT)];
            for &a in counted {
                let row = &mut pairs[a as usize];
                for &b in counted {
                    if a != b {
                        *row.entry(b).or_insert(0) += 1;
                    }
                }
            }
        }
        let n = count.max(1) as f64;
        let neighbours: Vec<Vec<(u32, f32)>> = pairs
            .iter()
            .enumerate()
            .map(|(a, row)| {
                let na = f64::from(popularity[a]);
                let mut scored: Vec<(u32, f32)> = row
                    .iter()
                    .map(|(&b, &c)| {
                        let (c, nb) = (f64::from(c), f64::from(popularity[b as usize]));
                        let s = match config.score {
                            Score::Count => c,
                            Score::Cosine => c / (na * nb).sqrt(),
                            Score::Confidence => c / na,
                            Score::Lift => c * n / (na * nb),
                        };
                        (b, s as f32)
                    })
                    .collect();
                // Best first; ties by popularity then index, so the model is
                // the same for the same orders.
                let order = |x: &(u32, f32), y: &(u32, f32)| {
                    y.1.total_cmp(&x.1)
                        .then(popularity[y.0 as usize].total_cmp(&popularity[x.0 as usize]))
                        .then(x.0.cmp(&y.0))
                };
                if scored.len() > config.neighbours {
                    scored.select_nth_unstable_by(config.neighbours, order);
                    scored.truncate(config.neighbours);
                }
                scored.sort_unstable_by(order);
                scored
            })
            .collect();
        let trending: Vec<f32> = trending.into_iter().map(|t| t as f32).collect();
        Self {
            by_popularity: rank(&popularity),
            by_trend: rank(&trending),
            products,
            index,
            popularity,
            trending,
            neighbours,
            baskets: count,
            built_at: now,
        }
    }

    /// A product's decayed sales and its sales (0 and 0 when unknown).
    pub fn standing(&self, product: P) -> (f32, f32) {
        self.index
            .get(&product)
            .map_or((0.0, 0.0), |&i| (self.trending[i as usize], self.popularity[i as usize]))
    }

    /// Products the model knows.
    pub fn products(&self) -> usize {
        self.products.len()
    }

    /// Baskets it was built from.
    pub fn baskets(&self) -> usize {
        self.baskets
    }

    /// When it was built.
    pub fn built_at(&self) -> DateTime<Utc> {
        self.built_at
    }

    /// The `k` best-selling products `keep` allows.
    pub fn popular(&self, k: usize, keep: impl Fn(P) -> bool) -> Vec<Pick<P>> {
        self.ranked(&self.by_popularity, &self.popularity, Reason::Popular, k, &keep, &[])
    }

    /// The `k` products selling best lately that `keep` allows.
    pub fn trending(&self, k: usize, keep: impl Fn(P) -> bool) -> Vec<Pick<P>> {
        self.ranked(&self.by_trend, &self.trending, Reason::Trending, k, &keep, &[])
    }

    /// Products bought together with `product`, best first, then popular
    /// ones to fill `k`; never `product` itself.
    pub fn related(&self, product: P, k: usize, keep: impl Fn(P) -> bool) -> Vec<Pick<P>> {
        let keep = |p: P| p != product && keep(p);
        self.for_items(&[product], k, &keep, Reason::BoughtTogether)
    }

    /// Suggestions for a basket: what goes with its items (their scores
    /// added up), then trending and popular products; never an item of
    /// the basket.
    pub fn for_basket(&self, basket: &[P], k: usize, keep: impl Fn(P) -> bool) -> Vec<Pick<P>> {
        let keep = |p: P| !basket.contains(&p) && keep(p);
        self.for_items(basket, k, &keep, Reason::BoughtTogether)
    }

    /// Personal picks: the products the customer named in their
    /// conversation first (`mentioned`), then what goes with those and
    /// with what they bought before (`history`, most recent first), then
    /// trending and popular products.
    pub fn personal(
        &self,
        history: &[P],
        mentioned: &[P],
        k: usize,
        keep: impl Fn(P) -> bool,
    ) -> Vec<Pick<P>> {
        let mut out: Vec<Pick<P>> = Vec::new();
        for &p in mentioned {
            if out.len() < k && keep(p) && !out.iter().any(|x| x.product == p) {
                out.push(Pick {
                    product: p,
                    score: f64::INFINITY,
                    reason: Reason::Personal,
                    because: Some(p),
                });
            }
        }
        let seeds: Vec<P> = mentioned.iter().chain(history).copied().collect();
        let taken: Vec<P> = out.iter().map(|p| p.product).collect();
        let keep = |p: P| !taken.contains(&p) && keep(p);
        let mut rest = self.for_items(&seeds, k - out.len(), &keep, Reason::Personal);
        out.append(&mut rest);
        out
    }

    /// Neighbours of `seeds` (scores added, each pick from its strongest
    /// source), then trending, then popular products.
    fn for_items(
        &self,
        seeds: &[P],
        k: usize,
        keep: &dyn Fn(P) -> bool,
        reason: Reason,
    ) -> Vec<Pick<P>> {
        if k == 0 {
            return Vec::new();
        }
        // product → (total, best single contribution, its source)
        let mut scores: HashMap<u32, (f32, f32, u32)> = HashMap::new();
        for seed in seeds.iter().filter_map(|p| self.index.get(p)) {
            for &(b, s) in &self.neighbours[*seed as usize] {
                let e = scores.entry(b).or_insert((0.0, f32::MIN, *seed));
                e.0 += s;
                if s > e.1 {
                    (e.1, e.2) = (s, *seed);
                }
            }
        }
        let mut found: Vec<(u32, f32, u32)> = scores
            .into_iter()
            .filter(|(b, _)| keep(self.products[*b as usize]))
            .map(|(b, (total, _, from))| (b, total, from))
            .collect();
        found.sort_unstable_by(|x, y| {
            y.1.total_cmp(&x.1)
                .then(self.popularity[y.0 as usize].total_cmp(&self.popularity[x.0 as usize]))
                .then(x.0.cmp(&y.0))
        });
        found.truncate(k);
        let mut out: Vec<Pick<P>> = found
            .into_iter()
            .map(|(b, s, from)| Pick {
                product: self.products[b as usize],
                score: f64::from(s),
                reason,
                because: Some(self.products[from as usize]),
            })
            .collect();
        if out.len() < k {
            let taken: Vec<P> = out.iter().map(|p| p.product).collect();
            let more = self.ranked(
                &self.by_trend,
                &self.trending,
                Reason::Trending,
                k - out.len(),
                keep,
                &taken,
            );
            out.extend(more);
        }
        out
    }

    /// The first `k` of `order` that `keep` allows and `taken` lacks. A
    /// product trending at zero weight is left to popularity.
    fn ranked(
        &self,
        order: &[u32],
        score: &[f32],
        reason: Reason,
        k: usize,
        keep: &dyn Fn(P) -> bool,
        taken: &[P],
    ) -> Vec<Pick<P>> {
        let mut out = Vec::new();
        for &i in order {
            if out.len() >= k {
                break;
            }
            let p = self.products[i as usize];
            let s = score[i as usize];
            let (reason, s) = match (reason, s > 1e-6) {
                (Reason::Trending, false) => (Reason::Popular, self.popularity[i as usize]),
                _ => (reason, s),
            };
            if keep(p) && !taken.contains(&p) {
                out.push(Pick { product: p, score: f64::from(s), reason, because: None });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap() + Duration::days(day)
    }

    fn baskets() -> Vec<Basket<&'static str>> {
        let b = |items: &[&'static str], day| Basket { items: items.to_vec(), at: t(day) };
        vec![
            b(&["unga", "sukari", "maziwa"], -30),
            b(&["unga", "sukari"], -29),
            b(&["unga", "sukari", "chai"], -28),
            b(&["maziwa", "mkate"], -27),
            b(&["maziwa", "mkate", "unga"], -26),
            b(&["chai", "sukari"], -1),
            b(&["soda"], 0),
            b(&["soda", "crisps"], 0),
            b(&["soda", "crisps", "soda"], 0),
        ]
    }

    #[test]
    fn bought_together_comes_first_with_its_source() {
        let m = Model::build(&baskets(), t(0), ModelConfig::default());
        assert_eq!(m.products(), 7);
        let picks = m.related("unga", 3, |_| true);
        assert_eq!(picks[0].product, "sukari");
        assert_eq!((picks[0].reason, picks[0].because), (Reason::BoughtTogether, Some("unga")));
        assert!(picks.iter().all(|p| p.product != "unga"));
        // A basket: scores add up; the basket's own items never come back.
        let picks = m.for_basket(&["unga", "maziwa"], 3, |_| true);
        assert!(picks.iter().all(|p| p.product != "unga" && p.product != "maziwa"));
        assert_eq!(picks[0].product, "sukari");
    }

    #[test]
    fn refused_products_never_come_back_and_popularity_fills() {
        let m = Model::build(&baskets(), t(0), ModelConfig::default());
        let out_of_stock = ["sukari", "soda"];
        let picks = m.related("unga", 7, |p| !out_of_stock.contains(&p));
        assert_eq!(picks.len(), 4, "every other product: {picks:?}");
        assert!(picks.iter().all(|p| !out_of_stock.contains(&p.product)));
        // Unknown products get trending then popular ones.
        let picks = m.related("nyama", 2, |_| true);
        assert_eq!(picks.iter().map(|p| p.reason).collect::<Vec<_>>(), [Reason::Trending; 2]);
        assert_eq!(picks[0].product, "soda", "three baskets today");
    }

    #[test]
    fn trending_decays_by_its_half_life() {
        let m = Model::build(&baskets(), t(0), ModelConfig::default());
        let top: Vec<_> = m.trending(4, |_| true).into_iter().map(|p| p.product).collect();
        assert_eq!(top, ["soda", "crisps", "sukari", "chai"]);
        let popular: Vec<_> = m.popular(2, |_| true).into_iter().map(|p| p.product).collect();
        assert_eq!(popular, ["unga", "sukari"], "4 baskets each, tie by first seen");
        let sold_today = m.trending(1, |_| true)[0].score;
        assert!((sold_today - 3.0).abs() < 1e-3, "three baskets today, a repeat inside one once");
        let chai = m.trending(4, |_| true)[3].score;
        let expected = 0.5f64.powf(1.0 / 7.0) + 0.5f64.powf(28.0 / 7.0);
        assert!((chai - expected).abs() < 1e-3, "{chai} vs {expected}");
    }

    #[test]
    fn personal_picks_put_named_products_first() {
        let m = Model::build(&baskets(), t(0), ModelConfig::default());
        let picks = m.personal(&["maziwa"], &["chai"], 3, |p| p != "soda");
        assert_eq!((picks[0].product, picks[0].reason), ("chai", Reason::Personal));
        assert!(picks[1..].iter().all(|p| p.product != "chai" && p.product != "soda"));
        assert_eq!(picks.len(), 3);
    }

    #[test]
    fn the_same_orders_build_the_same_model() {
        let a = Model::build(&baskets(), t(0), ModelConfig::default());
        let b = Model::build(&baskets(), t(0), ModelConfig::default());
        assert_eq!(a, b);
        for score in [Score::Count, Score::Cosine, Score::Lift] {
            let m = Model::build(&baskets(), t(0), ModelConfig { score, ..ModelConfig::default() });
            assert_eq!(m.related("mkate", 1, |_| true)[0].product, "maziwa", "{score:?}");
        }
    }
}

/// Product indexes by `score`, best first (ties by index).
fn rank(score: &[f32]) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..score.len() as u32).collect();
    ids.sort_unstable_by(|&x, &y| score[y as usize].total_cmp(&score[x as usize]).then(x.cmp(&y)));
    ids
}

/// First byte of a stored model.
const FORMAT: u8 = 1;

/// Why stored model bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable recommendation model: {0}")]
pub struct ModelBytesError(&'static str);

impl Model<crate::domain::ProductId> {
    /// The model as bytes, to store (little-endian; read back by
    /// [`from_bytes`](Self::from_bytes)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.products.len();
        let mut out = Vec::with_capacity(32 + n * 28 + n * NEIGHBOURS_DEFAULT * 8);
        out.push(FORMAT);
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&(self.baskets as u64).to_le_bytes());
        out.extend_from_slice(&self.built_at.timestamp_micros().to_le_bytes());
        for p in &self.products {
            out.extend_from_slice(p.as_uuid().as_bytes());
        }
        for v in self.popularity.iter().chain(&self.trending) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for list in &self.neighbours {
            out.extend_from_slice(&(list.len() as u32).to_le_bytes());
            for (b, s) in list {
                out.extend_from_slice(&b.to_le_bytes());
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        out
    }

    /// Reads a model [`to_bytes`](Self::to_bytes) wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelBytesError> {
        let mut r = Reader(bytes);
        if r.take(1)?[0] != FORMAT {
            return Err(ModelBytesError("unknown format"));
        }
        let n = r.u32()? as usize;
        let baskets = r.u64()? as usize;
        let built_at = DateTime::from_timestamp_micros(r.u64()? as i64)
            .ok_or(ModelBytesError("bad build time"))?;
        if n > r.0.len() / 16 {
            return Err(ModelBytesError("truncated"));
        }
        let mut products = Vec::with_capacity(n);
        for _ in 0..n {
            let raw: [u8; 16] = r.take(16)?.try_into().map_err(|_| ModelBytesError("truncated"))?;
            products.push(crate::domain::ProductId::from_uuid(uuid::Uuid::from_bytes(raw)));
        }
        let mut floats = |count: usize| (0..count).map(|_| r.f32()).collect::<Result<Vec<_>, _>>();
        let popularity = floats(n)?;
        let trending = floats(n)?;
        let mut neighbours = Vec::with_capacity(n);
        for _ in 0..n {
            let len = r.u32()? as usize;
            let mut list = Vec::with_capacity(len.min(1_024));
            for _ in 0..len {
                let b = r.u32()?;
                if b as usize >= n {
                    return Err(ModelBytesError("neighbour out of range"));
                }
                list.push((b, r.f32()?));
            }
            neighbours.push(list);
        }
        if !r.0.is_empty() {
            return Err(ModelBytesError("trailing bytes"));
        }
        let index = products.iter().enumerate().map(|(i, p)| (*p, i as u32)).collect();
        Ok(Self {
            by_popularity: rank(&popularity),
            by_trend: rank(&trending),
            products,
            index,
            popularity,
            trending,
            neighbours,
            baskets,
            built_at,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ModelBytesError> {
        if self.0.len() < n {
            return Err(ModelBytesError("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, ModelBytesError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| ModelBytesError("truncated"))?))
    }

    fn u64(&mut self) -> Result<u64, ModelBytesError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| ModelBytesError("truncated"))?))
    }

    fn f32(&mut self) -> Result<f32, ModelBytesError> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().map_err(|_| ModelBytesError("truncated"))?))
    }
}

#[cfg(test)]
mod bytes_tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::ProductId;

    #[test]
    fn a_stored_model_reads_back_the_same_and_bad_bytes_are_refused() {
        let ids: Vec<ProductId> = (0..6).map(|_| ProductId::new()).collect();
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let baskets: Vec<Basket<ProductId>> = [[0, 1, 2], [0, 1, 3], [4, 5, 0], [1, 2, 5]]
            .iter()
            .map(|b| Basket { items: b.iter().map(|&i| ids[i]).collect(), at })
            .collect();
        let m = Model::build(&baskets, at, ModelConfig::default());
        let bytes = m.to_bytes();
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.related(ids[0], 3, |_| true), m.related(ids[0], 3, |_| true));
        for cut in [0, 1, 10, bytes.len() - 1] {
            assert!(Model::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Model::from_bytes(&longer).is_err());
        let mut other = bytes;
        other[0] = 9;
        assert!(Model::from_bytes(&other).is_err());
    }
}
