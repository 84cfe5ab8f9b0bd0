//! Measuring a classifier with the decision rule on labelled data, and
//! choosing the rule's threshold on a validation set.
//!
//! Examples labelled [`OUT_OF_SCOPE`] are messages the business has no
//! answer for: the right outcome is not answering them (a handoff). The
//! metrics follow the CLINC150 protocol (Larson et al., 2019): in-scope
//! accuracy counts an in-scope message left unanswered as wrong, and
//! out-of-scope recall is the share of out-of-scope messages left
//! unanswered.

use super::decide::Gate;
use super::model::Ranking;
use super::train::{Example, Rng};

/// The label of out-of-scope examples.
pub const OUT_OF_SCOPE: &str = "oos";

/// What the classifier said about one labelled example.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The example's true intent ([`OUT_OF_SCOPE`] for none).
    pub truth: String,
    /// The most likely intent.
    pub top: String,
    /// Its probability.
    pub p1: f64,
    /// The runner-up's probability.
    pub p2: f64,
}

impl Prediction {
    /// Reads a ranking for an example of `truth`.
    pub fn new(truth: impl Into<String>, ranking: &Ranking) -> Self {
        Self {
            truth: truth.into(),
            top: ranking.top().map(|s| s.intent.clone()).unwrap_or_default(),
            p1: ranking.p1(),
            p2: ranking.p2(),
        }
    }

    fn in_scope(&self) -> bool {
        self.truth != OUT_OF_SCOPE
    }

    fn answered(&self, gate: Gate) -> bool {
        gate.passes(self.p1, self.p2)
    }

    /// Right under `gate`: an in-scope example answered with its intent, or
    /// an out-of-scope one left unanswered.
    fn right(&self, gate: Gate) -> bool {
        if self.answered(gate) {
            self.in_scope() && self.top == self.truth
        } else {
            !self.in_scope()
        }
    }
}

/// The metrics of one operating point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// In-scope examples answered with the right intent, over all in-scope
    /// examples.
    pub in_scope_accuracy: f64,
    /// Out-of-scope examples left unanswered, over all out-of-scope ones
    /// (`NaN` when there are none).
    pub oos_recall: f64,
    /// In-scope examples whose most likely intent is right, with no
    /// threshold.
    pub closed_set_accuracy: f64,
    /// Examples left unanswered (handed to a person), over all examples.
    pub handoff_rate: f64,
    /// Answered examples answered with the right intent, over all answered
    /// (`NaN` when none is answered).
    pub answered_precision: f64,
    /// Examples measured.
    pub examples: usize,
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { f64::NAN } else { n as f64 / d as f64 }
}

/// The metrics of `predictions` under `gate`.
pub fn measure(predictions: &[Prediction], gate: Gate) -> Metrics {
    let in_scope: Vec<&Prediction> = predictions.iter().filter(|p| p.in_scope()).collect();
    let oos = predictions.len() - in_scope.len();
    let answered: Vec<&Prediction> = predictions.iter().filter(|p| p.answered(gate)).collect();
    let answered_right = answered.iter().filter(|p| p.in_scope() && p.top == p.truth).count();
    Metrics {
        in_scope_accuracy: ratio(in_scope.iter().filter(|p| p.right(gate)).count(), in_scope.len()),
        oos_recall: ratio(
            predictions.iter().filter(|p| !p.in_scope() && !p.answered(gate)).count(),
            oos,
        ),
        closed_set_accuracy: ratio(
            in_scope.iter().filter(|p| p.top == p.truth).count(),
            in_scope.len(),
        ),
        handoff_rate: ratio(predictions.len() - answered.len(), predictions.len()),
        answered_precision: ratio(answered_right, answered.len()),
        examples: predictions.len(),
    }
}

/// Every threshold that changes an outcome on `predictions`: 0, and just
/// above each top probability.
fn candidates(predictions: &[Prediction]) -> Vec<f64> {
    let mut t: Vec<f64> = predictions.iter().map(|p| p.p1.next_up()).collect();
    t.push(0.0);
    t.sort_by(f64::total_cmp);
    t.dedup();
    t
}

/// The threshold that makes the most validation examples right, counting
/// out-of-scope as its own class (the CLINC150 rule); the lowest such
/// threshold on a tie.
pub fn threshold_for_accuracy(validation: &[Prediction], ambiguity: f64) -> f64 {
    let mut best = (0usize, 0.0);
    for t in candidates(validation) {
        let gate = Gate { threshold: t, ambiguity };
        let right = validation.iter().filter(|p| p.right(gate)).count();
        if right > best.0 {
            best = (right, t);
        }
    }
    best.1
}

/// The lowest threshold whose out-of-scope recall on `validation` reaches
/// `target`; `None` when no threshold does (there is no out-of-scope
/// example).
pub fn threshold_for_recall(validation: &[Prediction], ambiguity: f64, target: f64) -> Option<f64> {
    let oos: Vec<&Prediction> = validation.iter().filter(|p| !p.in_scope()).collect();
    if oos.is_empty() {
        return None;
    }
    candidates(validation).into_iter().find(|t| {
        let gate = Gate { threshold: *t, ambiguity };
        let held = oos.iter().filter(|p| !p.answered(gate)).count();
        held as f64 >= target * oos.len() as f64
    })
}

/// A labelled set split for out-of-scope evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training examples: in-scope intents only.
    pub train: Vec<Example>,
    /// Validation examples: in-scope, and the held-out intents' as
    /// [`OUT_OF_SCOPE`].
    pub validation: Vec<Example>,
    /// Test examples, the held-out intents' as [`OUT_OF_SCOPE`].
    pub test: Vec<Example>,
    /// The intents held out, by name.
    pub held_out: Vec<String>,
}

/// Holds out a `share` of the intents as out-of-scope, for a dataset that
/// has none (BANKING77). The protocol, fixed by `seed`: the intents, sorted
/// by name, are shuffled (Fisher–Yates with SplitMix64) and the first
/// `⌊share × intents⌋` held out; each training example, in file order,
/// goes to validation with probability 1/10 (one draw each), otherwise to
/// training if its intent is in scope (held-out training examples are never
/// seen); the test examples keep their order.
pub fn hold_out(train: &[Example], test: &[Example], share: f64, seed: u64) -> Split {
    let mut intents: Vec<String> = train.iter().map(|e| e.intent.clone()).collect();
    intents.sort();
    intents.dedup();
    let mut rng = Rng(seed);
    for i in (1..intents.len()).rev() {
        intents.swap(i, rng.below(i + 1));
    }
    let n = ((intents.len() as f64) * share.clamp(0.0, 1.0)).floor() as usize;
    let mut held_out: Vec<String> = intents[..n].to_vec();
    held_out.sort();
    let label = |e: &Example| {
        let oos = held_out.binary_search(&e.intent).is_ok();
        Example::new(e.text.clone(), if oos { OUT_OF_SCOPE.to_owned() } else { e.intent.clone() })
    };
    let (mut t, mut v) = (Vec::new(), Vec::new());
    for e in train {
        let example = label(e);
        if rng.below(10) == 0 {
            v.push(example);
        } else if example.intent != OUT_OF_SCOPE {
            t.push(example);
        }
    }
    let s = test.iter().map(label).collect();
    Split { train: t, validation: v, test: s, held_out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(truth: &str, top: &str, p1: f64) -> Prediction {
        Prediction { truth: truth.into(), top: top.into(), p1, p2: 0.0 }
    }

    #[test]
    fn metrics_count_handoffs_as_the_protocol_says() {
        let preds = [
            p("a", "a", 0.9),   // answered right
            p("a", "b", 0.8),   // answered wrong
            p("b", "b", 0.3),   // right intent, left unanswered: wrong
            p("oos", "a", 0.2), // left unanswered: right
            p("oos", "b", 0.7), // answered: wrong
        ];
        let m = measure(&preds, Gate { threshold: 0.5, ambiguity: 0.0 });
        assert_eq!(m.in_scope_accuracy, 1.0 / 3.0);
        assert_eq!(m.oos_recall, 0.5);
        assert_eq!(m.closed_set_accuracy, 2.0 / 3.0);
        assert_eq!(m.handoff_rate, 2.0 / 5.0);
        assert_eq!(m.answered_precision, 1.0 / 3.0);
    }

    #[test]
    fn thresholds_are_chosen_on_validation() {
        let preds = [p("a", "a", 0.9), p("a", "a", 0.6), p("oos", "a", 0.5), p("oos", "b", 0.7)];
        // Above 0.7 loses the 0.6 answer but holds both out-of-scope: 3 of 4
        // either way; the lowest wins.
        let t = threshold_for_accuracy(&preds, 0.0);
        assert!(t > 0.5 && t <= 0.6, "{t}");
        let r = threshold_for_recall(&preds, 0.0, 1.0).unwrap();
        assert!(r > 0.7 && r < 0.71, "{r}");
        assert_eq!(threshold_for_recall(&preds, 0.0, 0.5).unwrap(), 0.5f64.next_up());
        assert_eq!(threshold_for_recall(&preds[..2], 0.0, 0.5), None);
        assert_eq!(measure(&preds, Gate { threshold: r, ambiguity: 0.0 }).oos_recall, 1.0);
    }
}
