//! Offline evaluation against popularity: leave-one-out hit rate on held-out
//! baskets, and a basket generator with planted pairs (a known answer).

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{Basket, Model, ModelConfig};
use crate::assistant::Rng;

/// Hit rates: the share of held-out baskets whose hidden item is among the
/// first 5, 10, or `k` picks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HitRates {
    /// Hit rate at 5.
    pub at5: f64,
    /// Hit rate at 10.
    pub at10: f64,
    /// Hit rate at the evaluation's `k`.
    pub at_k: f64,
}

/// What an evaluation measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalReport {
    /// Baskets the model was built from.
    pub train: usize,
    /// Held-out baskets with at least 2 items (one hidden from each).
    pub tested: usize,
    /// The most popular products the basket lacks.
    pub popularity: HitRates,
    /// Bought-together picks for the rest of the basket, filled by
    /// trending and popular ones.
    pub ours: HitRates,
    /// Model build time, milliseconds.
    pub build_ms: f64,
}

/// Shuffles `baskets` with `seed` and cuts them at `split` (the share kept
/// for building).
pub fn split_baskets<P: Clone>(
    baskets: &[Vec<P>],
    split: f64,
    seed: u64,
) -> (Vec<Vec<P>>, Vec<Vec<P>>) {
    let mut order: Vec<usize> = (0..baskets.len()).collect();
    let mut rng = Rng(seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let cut = ((baskets.len() as f64) * split.clamp(0.0, 1.0)).round() as usize;
    let pick = |ids: &[usize]| ids.iter().map(|&i| baskets[i].clone()).collect::<Vec<_>>();
    (pick(&order[..cut]), pick(&order[cut..]))
}

/// Builds on `train`, then from each `test` basket of at least 2 distinct
/// items hides one at random (`seed`) and asks for picks from the rest, by
/// popularity and by the model; counts hits at 5, 10 and `k`.
pub fn evaluate<P: Copy + Eq + std::hash::Hash + Ord>(
    train: &[Vec<P>],
    test: &[Vec<P>],
    k: usize,
    seed: u64,
    config: ModelConfig,
    now: DateTime<Utc>,
) -> EvalReport {
    let baskets: Vec<Basket<P>> =
        train.iter().map(|items| Basket { items: items.clone(), at: now }).collect();
    let started = Instant::now();
    let model = Model::build(&baskets, now, config);
    let build_ms = started.elapsed().as_secs_f64() * 1_000.0;
    let mut rng = Rng(seed);
    let (mut tested, mut pop, mut ours) = (0usize, [0usize; 3], [0usize; 3]);
    let list = k.max(10);
    for basket in test {
        let mut items = basket.clone();
        items.sort_unstable();
        items.dedup();
        if items.len() < 2 {
            continue;
        }
        tested += 1;
        let hidden = items.remove(rng.below(items.len()));
        let rank = |picks: Vec<super::Pick<P>>| picks.iter().position(|p| p.product == hidden);
        let tally = |hits: &mut [usize; 3], at: Option<usize>| {
            if let Some(i) = at {
                hits[0] += usize::from(i < 5);
                hits[1] += usize::from(i < 10);
                hits[2] += usize::from(i < k);
            }
        };
        tally(&mut pop, rank(model.popular(list, |p| !items.contains(&p))));
        tally(&mut ours, rank(model.for_basket(&items, list, |_| true)));
    }
    let share = |n: usize| n as f64 / tested.max(1) as f64;
    let rate = |hits: [usize; 3]| HitRates {
        at5: share(hits[0]),
        at10: share(hits[1]),
        at_k: share(hits[2]),
    };
    EvalReport { train: train.len(), tested, popularity: rate(pop), ours: rate(ours), build_ms }
}

/// `count` baskets over `products` products with skewed popularity, in
/// which `pairs` planted pairs go together: when a basket holds one of a
/// pair, the partner joins it nine times in ten. Returns the baskets and
/// the pairs. The same seed gives the same baskets.
pub fn planted_baskets(
    products: u32,
    count: usize,
    pairs: u32,
    seed: u64,
) -> (Vec<Vec<u32>>, Vec<(u32, u32)>) {
    let mut rng = Rng(seed);
    // Pairs among the less popular half, so popularity cannot find them.
    let planted: Vec<(u32, u32)> =
        (0..pairs).map(|i| (products / 2 + 2 * i, products / 2 + 2 * i + 1)).collect();
    let partner = |p: u32| {
        planted.iter().find_map(|&(a, b)| match p {
            _ if p == a => Some(b),
            _ if p == b => Some(a),
            _ => None,
        })
    };
    // Skewed: product i is drawn with weight 1 / (i + 10).
    let weights: Vec<f64> = (0..products).map(|i| 1.0 / f64::from(i + 10)).collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cumulative.push(acc);
    }
    let draw = |rng: &mut Rng| {
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
        cumulative.partition_point(|&c| c < x).min(products as usize - 1) as u32
    };
    let baskets = (0..count)
        .map(|_| {
            let size = 1 + rng.below(5);
            let mut items: Vec<u32> = Vec::with_capacity(size + 2);
            for _ in 0..size {
                // One draw in three comes from the planted products, so
                // every pair is seen often enough to learn.
                let p = match rng.below(3) {
                    0 if pairs > 0 => {
                        let (a, b) = planted[rng.below(planted.len())];
                        if rng.below(2) == 0 { a } else { b }
                    }
                    _ => draw(&mut rng),
                };
                items.push(p);
                if let Some(q) = partner(p)
                    && rng.below(10) < 9
                {
                    items.push(q);
                }
            }
            items.sort_unstable();
            items.dedup();
            items
        })
        .collect();
    (baskets, planted)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
    }

    #[test]
    fn planted_partners_are_in_the_top_three() {
        let (baskets, pairs) = planted_baskets(500, 20_000, 40, 7);
        let baskets: Vec<Basket<u32>> =
            baskets.into_iter().map(|items| Basket { items, at: now() }).collect();
        let model = Model::build(&baskets, now(), ModelConfig::default());
        let mut found = 0;
        for &(a, b) in &pairs {
            for (item, partner) in [(a, b), (b, a)] {
                let top: Vec<u32> =
                    model.related(item, 3, |_| true).into_iter().map(|p| p.product).collect();
                found += usize::from(top.contains(&partner));
            }
        }
        let share = found as f64 / (2 * pairs.len()) as f64;
        assert!(share >= 0.95, "planted partner in the top 3 for {share:.3} of items");
    }

    #[test]
    fn ours_beats_popularity_on_planted_baskets_and_runs_are_repeatable() {
        let (baskets, _) = planted_baskets(500, 20_000, 40, 11);
        let (train, test) = split_baskets(&baskets, 0.8, 3);
        assert_eq!((train.len(), test.len()), (16_000, 4_000));
        let report = evaluate(&train, &test, 10, 5, ModelConfig::default(), now());
        assert!(report.tested > 1_000, "{report:?}");
        assert!(report.ours.at10 > report.popularity.at10, "{report:?}");
        let again = evaluate(&train, &test, 10, 5, ModelConfig::default(), now());
        assert_eq!((again.ours, again.popularity), (report.ours, report.popularity));
        assert_eq!(split_baskets(&baskets, 0.8, 3), (train, test));
    }
}
