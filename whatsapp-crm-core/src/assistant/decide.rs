//! The decision rule and the reasons every assistant decision carries.

use serde::{Deserialize, Serialize};

use super::model::Ranking;

/// Slack for comparing probability differences: `0.6 − 0.5` is a hair
/// under `0.1` in floating point, and equality must pass.
const EPSILON: f64 = 1e-9;

/// When a ranking is confident enough to act on: the top intent's
/// probability reaches `threshold` and leads the runner-up by `ambiguity`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// Least probability of the top intent, in [0, 1].
    pub threshold: f64,
    /// Least lead of the top intent over the second, in [0, 1].
    pub ambiguity: f64,
}

/// What the gate made of a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Both conditions hold.
    Confident,
    /// The top probability is under the threshold.
    LowConfidence,
    /// The top two are too close.
    Ambiguous,
}

impl Gate {
    /// Whether a top probability `p1` with runner-up `p2` passes (equality
    /// passes both conditions).
    pub fn passes(&self, p1: f64, p2: f64) -> bool {
        p1 >= self.threshold && p1 - p2 >= self.ambiguity - EPSILON
    }

    /// Judges a ranking; low confidence is reported before ambiguity.
    pub fn judge(&self, ranking: &Ranking) -> Judgement {
        let (p1, p2) = (ranking.p1(), ranking.p2());
        if p1 < self.threshold {
            Judgement::LowConfidence
        } else if p1 - p2 < self.ambiguity - EPSILON {
            Judgement::Ambiguous
        } else {
            Judgement::Confident
        }
    }
}

/// Why the assistant did what it did with a message; stored with the
/// message for analytics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// It answered (an FAQ, an intent's reply, a product in stock).
    Answered,
    /// The top intent was under the threshold: no answer.
    LowConfidence,
    /// The top two intents were too close: no answer.
    Ambiguous,
    /// The business is closed and answers wait for opening.
    AfterHours,
    /// The product asked about is out of stock; alternatives were offered.
    OutOfStock,
    /// The customer asked for a person.
    HumanRequested,
    /// The assistant handed the conversation to a person (turns without an
    /// answer, strongly negative sentiment, or an intent that goes to a
    /// person).
    HandedOff,
}

impl Reason {
    /// Stable text form, as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::LowConfidence => "low_confidence",
            Self::Ambiguous => "ambiguous",
            Self::AfterHours => "after_hours",
            Self::OutOfStock => "out_of_stock",
            Self::HumanRequested => "human_requested",
            Self::HandedOff => "handed_off",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking(p: &[f64]) -> Ranking {
        Ranking::from_weights(p.iter().enumerate().map(|(i, p)| (format!("i{i}"), *p)))
    }

    #[test]
    fn both_gates_and_their_edges() {
        let gate = Gate { threshold: 0.5, ambiguity: 0.1 };
        assert_eq!(gate.judge(&ranking(&[0.7, 0.2, 0.1])), Judgement::Confident);
        assert_eq!(gate.judge(&ranking(&[0.45, 0.3, 0.25])), Judgement::LowConfidence);
        assert_eq!(gate.judge(&ranking(&[0.52, 0.48])), Judgement::Ambiguous);
        // Equality passes each gate.
        assert!(gate.passes(0.5, 0.4));
        assert_eq!(gate.judge(&ranking(&[0.5, 0.4, 0.1])), Judgement::Confident);
        assert!(gate.passes(0.6, 0.5), "0.6 - 0.5 is 0.1 despite floating point");
        assert!(!gate.passes(0.5 - 1e-6, 0.0));
        // Low confidence wins when both fail.
        assert_eq!(gate.judge(&ranking(&[0.3, 0.3, 0.3, 0.1])), Judgement::LowConfidence);
    }
}
