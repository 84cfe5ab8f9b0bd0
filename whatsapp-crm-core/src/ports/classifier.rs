//! The `Classifier` port: ranks a business's intents for a message. The
//! business's own offline model ([`IntentModel`]) is the default; an LLM
//! adapter (Groq) implements the same port and the assistant falls back to
//! the offline model whenever it fails.

use async_trait::async_trait;

use crate::assistant::{IntentModel, Ranking};

/// An intent as an LLM is told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentSummary {
    /// The name a ranking uses.
    pub name: String,
    /// What it is about (an FAQ's question, an intent's name in words).
    pub about: String,
    /// A few things customers write when they mean it.
    pub examples: Vec<String>,
}

/// What a classifier is asked.
#[derive(Debug, Clone, Copy)]
pub struct ClassifyRequest<'a> {
    /// The customer's message as written.
    pub text: &'a str,
    /// It, normalised.
    pub normalized: &'a str,
    /// The intents to choose from.
    pub intents: &'a [IntentSummary],
}

/// Why a classifier gave no ranking. The assistant then uses the offline
/// model and records the reason with its decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifierError {
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The provider answered with an error status.
    #[error("status {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The answer could not be read as a ranking.
    #[error("unreadable answer: {0}")]
    Invalid(String),
    /// The provider could not be reached.
    #[error("unreachable: {0}")]
    Unreachable(String),
}

/// Ranks intents for a message.
#[async_trait]
pub trait Classifier: Send + Sync {
    /// Its name, as decisions record it (`offline`, `groq`).
    fn name(&self) -> &'static str;

    /// Ranks `request.intents` for the message; probabilities sum to 1.
    async fn classify(&self, request: &ClassifyRequest<'_>) -> Result<Ranking, ClassifierError>;
}

#[async_trait]
impl Classifier for IntentModel {
    fn name(&self) -> &'static str {
        "offline"
    }

    async fn classify(&self, request: &ClassifyRequest<'_>) -> Result<Ranking, ClassifierError> {
        Ok(self.classify_normalized(request.normalized))
    }
}
