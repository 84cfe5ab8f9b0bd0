//! The assistant's records: each business's settings, its FAQs and intents,
//! the trained model's description, each conversation's assistant state
//! (misses, after-hours reply, handoff), and the decision stored with every
//! message it considered.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{BusinessId, Direction, FaqId, IntentId, MessageId, ProductId, ValidationError};
use crate::assistant::{BusinessHours, Reason, normalize};

/// Default least probability of the top intent to answer. Chosen on
/// BANKING77 with a quarter of its intents held out (README, assistant).
pub const THRESHOLD_DEFAULT: f64 = 0.5;
/// Default least lead of the top intent over the runner-up (Rasa's).
pub const AMBIGUITY_DEFAULT: f64 = 0.1;
/// Turns in a row without an answer before a person takes over.
pub const HANDOFF_AFTER_MISSES_DEFAULT: u32 = 2;
/// Most turns without an answer that may be configured.
pub const HANDOFF_AFTER_MISSES_MAX: u32 = 10;
/// Default VADER compound score at or under which a person takes over.
pub const NEGATIVE_SENTIMENT_DEFAULT: f64 = -0.7;
/// Words and phrases that ask for a person, by default.
pub const HANDOFF_WORDS_DEFAULT: &[&str] = &[
    "agent",
    "human",
    "a person",
    "real person",
    "operator",
    "customer care",
    "mtu",
    "binadamu",
    "mhudumu",
];
/// Most handoff words.
pub const HANDOFF_WORDS_MAX: usize = 30;
/// Longest handoff word or phrase.
pub const HANDOFF_WORD_MAX_CHARS: usize = 40;
/// Longest configured reply.
pub const REPLY_MAX_CHARS: usize = 1_000;
/// Longest FAQ question, paraphrase or intent example.
pub const PHRASE_MAX_CHARS: usize = 300;
/// Most paraphrases of one FAQ.
pub const PARAPHRASES_MAX: usize = 50;
/// Longest FAQ answer (WhatsApp's text limit).
pub const ANSWER_MAX_CHARS: usize = 4_096;
/// Most examples of one intent.
pub const EXAMPLES_MAX: usize = 1_000;
/// Longest intent name.
pub const INTENT_NAME_MAX_CHARS: usize = 64;
/// Messages kept in a handoff's transcript.
pub const TRANSCRIPT_LINES_MAX: usize = 20;
/// Longest line of a transcript.
pub const TRANSCRIPT_LINE_MAX_CHARS: usize = 500;

/// Which classifier ranks intents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClassifierChoice {
    /// The business's own model, trained here (the default; no network).
    #[default]
    Offline,
    /// Groq's LLM, falling back to the offline model on any failure.
    Groq,
}

/// What the assistant says in each situation. `{opens}` becomes when the
/// business opens next ("at 08:00", "on Monday at 08:00"); `{product}` the
/// product's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct AssistantReplies {
    /// Sent once a local day when a message arrives outside business hours.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub after_hours: String,
    /// Sent once when a person takes over.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub handoff: String,
    /// Sent instead when a person takes over outside business hours.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub handoff_after_hours: String,
    /// Sent after a turn without an answer, before the handoff.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub clarify: String,
    /// Sent when the product asked about is out of stock.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1000))]
    pub out_of_stock: String,
}

impl Default for AssistantReplies {
    fn default() -> Self {
        Self {
            after_hours: "Thanks for your message! We are closed now and open again {opens}. \
                          We will reply then."
                .into(),
            handoff: "Thanks, a member of our team will reply to you here shortly.".into(),
            handoff_after_hours: "Thanks, a member of our team will reply when we open {opens}."
                .into(),
            clarify: "Sorry, I did not get that. Could you say it another way? \
                      Reply *agent* to talk to a person."
                .into(),
            out_of_stock: "Sorry, {product} is out of stock right now.".into(),
        }
    }
}

/// A business's assistant settings. Off until the business turns it on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct AssistantSettings {
    /// Inbound text (not a consent keyword or cart command) is classified
    /// and answered.
    pub enabled: bool,
    /// Least probability of the top intent to answer, in [0, 1].
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub threshold: f64,
    /// Least lead of the top intent over the runner-up, in [0, 1].
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub ambiguity: f64,
    /// Words or phrases that ask for a person, matched as whole words of
    /// the normalised message.
    #[cfg_attr(feature = "openapi", schema(max_items = 30))]
    pub handoff_words: Vec<String>,
    /// Turns in a row without an answer before a person takes over (1–10).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    pub handoff_after_misses: u32,
    /// VADER compound score at or under which a person takes over (−1 to
    /// 0); `null` turns it off.
    #[cfg_attr(feature = "openapi", schema(minimum = -1.0, maximum = 0.0))]
    pub negative_sentiment: Option<f64>,
    /// When the business is open, in its time zone; `null` is always open.
    pub hours: Option<BusinessHours>,
    /// FAQ answers and product replies still go out after hours (with the
    /// after-hours reply once a day); otherwise only the after-hours reply.
    pub answer_after_hours: bool,
    /// What it says.
    pub replies: AssistantReplies,
    /// Which classifier ranks intents.
    pub classifier: ClassifierChoice,
}

impl Default for AssistantSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            threshold: THRESHOLD_DEFAULT,
            ambiguity: AMBIGUITY_DEFAULT,
            handoff_words: HANDOFF_WORDS_DEFAULT.iter().map(|w| (*w).to_owned()).collect(),
            handoff_after_misses: HANDOFF_AFTER_MISSES_DEFAULT,
            negative_sentiment: Some(NEGATIVE_SENTIMENT_DEFAULT),
            hours: None,
            answer_after_hours: true,
            replies: AssistantReplies::default(),
            classifier: ClassifierChoice::Offline,
        }
    }
}

impl AssistantSettings {
    /// Checks every field, reporting every problem; handoff words are
    /// normalised and deduplicated.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        let mut v = ValidationError::default();
        if !(0.0..=1.0).contains(&self.threshold) {
            v.push("threshold", "must be between 0 and 1");
        }
        if !(0.0..=1.0).contains(&self.ambiguity) {
            v.push("ambiguity", "must be between 0 and 1");
        }
        if !(1..=HANDOFF_AFTER_MISSES_MAX).contains(&self.handoff_after_misses) {
            v.push("handoff_after_misses", format!("must be 1 to {HANDOFF_AFTER_MISSES_MAX}"));
        }
        if self.negative_sentiment.is_some_and(|s| !(-1.0..=0.0).contains(&s)) {
            v.push("negative_sentiment", "must be between -1 and 0, or null");
        }
        if self.handoff_words.len() > HANDOFF_WORDS_MAX {
            v.push("handoff_words", format!("at most {HANDOFF_WORDS_MAX}"));
        }
        let mut words = Vec::new();
        for (i, w) in self.handoff_words.iter().enumerate() {
            let n = normalize(w);
            if n.is_empty() || w.chars().count() > HANDOFF_WORD_MAX_CHARS {
                v.push(
                    format!("handoff_words[{i}]"),
                    format!("must have a word and at most {HANDOFF_WORD_MAX_CHARS} characters"),
                );
            } else if !words.contains(&n) {
                words.push(n);
            }
        }
        self.handoff_words = words;
        if let Some(h) = &self.hours {
            v.check("hours", h.validate());
        }
        let r = &mut self.replies;
        for (field, text) in [
            ("replies.after_hours", &mut r.after_hours),
            ("replies.handoff", &mut r.handoff),
            ("replies.handoff_after_hours", &mut r.handoff_after_hours),
            ("replies.clarify", &mut r.clarify),
            ("replies.out_of_stock", &mut r.out_of_stock),
        ] {
            if let Some(clean) = v.check(field, clean_text(text, REPLY_MAX_CHARS)) {
                *text = clean;
            }
        }
        v.into_result(|| self)
    }
}

/// Why a person took over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HandoffCause {
    /// The customer asked for a person (a handoff word).
    HumanRequested {
        /// The word or phrase that asked.
        word: String,
    },
    /// This many turns in a row went without an answer.
    NoAnswer {
        /// The turns.
        turns: u32,
    },
    /// The message's sentiment was strongly negative.
    NegativeSentiment {
        /// Its VADER compound score.
        score: f64,
    },
    /// The message meant an intent that goes to a person.
    Intent {
        /// The intent.
        intent: String,
    },
}

/// One message of a handoff's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TranscriptLine {
    /// When it was sent or received.
    pub at: DateTime<Utc>,
    /// From the customer (`inbound`) or to them.
    pub direction: Direction,
    /// What it said, in short.
    pub text: String,
}

/// A conversation handed to a person: the assistant stays silent in it until
/// it is handed back or closed (`resolved_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handoff {
    /// `human_requested` or `handed_off`.
    pub reason: Reason,
    /// What led to it.
    pub cause: HandoffCause,
    /// The message that led to it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub message_id: MessageId,
    /// When; the conversation waits for a person since then.
    pub at: DateTime<Utc>,
    /// The message's VADER compound score, for routing.
    pub sentiment: f64,
    /// The last messages before it, oldest first.
    pub transcript: Vec<TranscriptLine>,
    /// When it was handed back or the conversation resolved; the assistant
    /// answers again from then.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The assistant's memory of one conversation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssistantState {
    /// Turns in a row without an answer.
    #[serde(default)]
    pub misses: u32,
    /// The local date of the last after-hours reply.
    #[serde(default)]
    pub after_hours_on: Option<NaiveDate>,
    /// The latest handoff; while unresolved a person has the conversation.
    #[serde(default)]
    pub handoff: Option<Handoff>,
    /// Changes with every write; a write names the revision it read.
    #[serde(skip)]
    pub rev: u32,
}

impl AssistantState {
    /// True when nothing is remembered (a new conversation).
    pub fn is_empty(&self) -> bool {
        self.misses == 0 && self.after_hours_on.is_none() && self.handoff.is_none()
    }

    /// Since when the conversation waits for a person, if it does.
    pub fn waiting_since(&self) -> Option<DateTime<Utc>> {
        self.handoff.as_ref().filter(|h| h.resolved_at.is_none()).map(|h| h.at)
    }
}

/// What the assistant decided about one inbound message, stored with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    /// Why it did what it did.
    pub reason: Reason,
    /// The most likely intent, when the message was classified.
    pub intent: Option<String>,
    /// Its probability.
    pub confidence: Option<f64>,
    /// The runner-up's probability.
    pub runner_up: Option<f64>,
    /// The classifier that ranked it (`offline`, `groq`), or `none`.
    pub classifier: String,
    /// Why the configured classifier was not the one used (a Groq timeout,
    /// an error status, an unreadable answer, no model yet).
    pub fallback: Option<String>,
    /// The FAQ answered with.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub faq_id: Option<FaqId>,
    /// The product asked about.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub product_id: Option<ProductId>,
    /// VADER compound score of the message, −1 to 1 (English first;
    /// Swahili best effort).
    pub sentiment: f64,
    /// Replies queued.
    pub replies: u32,
    /// When it was decided.
    pub at: DateTime<Utc>,
}

/// An FAQ: a question in the customer's words, other phrasings of it, and
/// the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Faq {
    /// FAQ id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: FaqId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// The question.
    pub question: String,
    /// Other ways customers ask it.
    pub paraphrases: Vec<String>,
    /// The answer sent.
    pub answer: String,
    /// The intent it answers, shared with other FAQs (BM25 tells them
    /// apart); absent, it is an intent of its own (`faq:<id>`).
    pub intent: Option<String>,
    /// Inactive FAQs are kept but neither trained on nor sent.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Faq {
    /// The label the classifier knows it by.
    pub fn label(&self) -> String {
        self.intent.clone().unwrap_or_else(|| format!("faq:{}", self.id))
    }

    /// The question and its paraphrases.
    pub fn phrasings(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.question.as_str()).chain(self.paraphrases.iter().map(String::as_str))
    }
}

/// An FAQ as written by a person.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewFaq {
    /// The question (1–300 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 300))]
    pub question: String,
    /// Other ways customers ask it (up to 50, each 1–300 characters).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub paraphrases: Vec<String>,
    /// The answer (1–4096 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
    pub answer: String,
    /// An intent it shares with other FAQs (`[a-z][a-z0-9_]*`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64, pattern = "^[a-z][a-z0-9_]*$"))]
    pub intent: Option<String>,
    /// Trained on and sent (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Checks a list of phrasings: each clean and at most
/// [`PHRASE_MAX_CHARS`], with words once normalised; repeats dropped.
fn phrases(v: &mut ValidationError, field: &str, items: &[String], max: usize) -> Vec<String> {
    if items.len() > max {
        v.push(field, format!("at most {max}"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, p) in items.iter().enumerate() {
        match clean_text(p, PHRASE_MAX_CHARS) {
            Ok(p) if normalize(&p).is_empty() => {
                v.push(format!("{field}[{i}]"), "must contain a word");
            }
            Ok(p) => {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            Err(e) => v.push(format!("{field}[{i}]"), e),
        }
    }
    out
}

/// Checks an intent name: a lowercase letter, then letters, digits and `_`.
pub fn validate_intent_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    let ok = n.len() <= INTENT_NAME_MAX_CHARS
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(n.to_owned())
    } else {
        Err(format!(
            "must be a lowercase letter then letters, digits or _, at most {INTENT_NAME_MAX_CHARS}"
        ))
    }
}

impl NewFaq {
    /// Validates every field into an FAQ of `business`, reporting every
    /// problem.
    pub fn validate(
        self,
        business: BusinessId,
        id: FaqId,
        now: DateTime<Utc>,
    ) -> Result<Faq, ValidationError> {
        let mut v = ValidationError::default();
        let question = match clean_text(&self.question, PHRASE_MAX_CHARS) {
            Ok(q) if normalize(&q).is_empty() => {
                v.push("question", "must contain a word");
                None
            }
            Ok(q) => Some(q),
            Err(e) => {
                v.push("question", e);
                None
            }
        };
        let paraphrases = phrases(&mut v, "paraphrases", &self.paraphrases, PARAPHRASES_MAX);
        let answer = v.check("answer", clean_text(&self.answer, ANSWER_MAX_CHARS));
        let intent = match &self.intent {
            Some(i) => v.check("intent", validate_intent_name(i)).map(Some),
            None => Some(None),
        };
        v.into_result(|| Faq {
            id,
            business_id: business,
            question: question.unwrap_or_default(),
            paraphrases,
            answer: answer.unwrap_or_default(),
            intent: intent.flatten(),
            active: self.active,
            created_at: now,
            updated_at: now,
        })
    }
}

/// What an intent does when a message confidently means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntentAction {
    /// Answered by its FAQs (BM25 picks which).
    Faq,
    /// Answered with the intent's own `reply`.
    Reply,
    /// A question about a product: its stock is looked up and told, with
    /// in-stock alternatives when it has none.
    Product,
    /// A person takes over.
    Handoff,
}

/// An intent: a thing customers want, learnt from examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intent {
    /// Intent id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: IntentId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// Its name, unique in the business (`order_status`).
    pub name: String,
    /// What customers write when they mean it.
    pub examples: Vec<String>,
    /// What it does.
    pub action: IntentAction,
    /// The reply, for `reply` intents.
    pub reply: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An intent as written by a person.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewIntent {
    /// Its name (`[a-z][a-z0-9_]*`, up to 64).
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[a-z][a-z0-9_]*$")
    )]
    pub name: String,
    /// What customers write when they mean it (up to 1,000, each 1–300
    /// characters).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub examples: Vec<String>,
    /// What it does.
    pub action: IntentAction,
    /// The reply, required for `reply` intents (1–4096 characters).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4096))]
    pub reply: Option<String>,
}

impl NewIntent {
    /// Validates every field into an intent of `business`, reporting every
    /// problem.
    pub fn validate(
        self,
        business: BusinessId,
        id: IntentId,
        now: DateTime<Utc>,
    ) -> Result<Intent, ValidationError> {
        let mut v = ValidationError::default();
        let name = v.check("name", validate_intent_name(&self.name));
        if name.as_deref().is_some_and(|n| n.starts_with("faq")) {
            v.push("name", "`faq…` names are kept for FAQs");
        }
        let examples = phrases(&mut v, "examples", &self.examples, EXAMPLES_MAX);
        let reply = match (self.action, &self.reply) {
            (IntentAction::Reply, Some(r)) => v.check("reply", clean_text(r, ANSWER_MAX_CHARS)),
            (IntentAction::Reply, None) => {
                v.push("reply", "a reply intent needs its reply");
                None
            }
            (_, Some(_)) => {
                v.push("reply", "only reply intents have a reply");
                None
            }
            (_, None) => None,
        };
        v.into_result(|| Intent {
            id,
            business_id: business,
            name: name.unwrap_or_default(),
            examples,
            action: self.action,
            reply,
            created_at: now,
            updated_at: now,
        })
    }
}

/// The trained model of a business, as described to people (the weights
/// are stored beside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInfo {
    /// The training data's version it was trained on.
    pub data_version: u64,
    /// Intents it tells apart.
    pub intents: u32,
    /// Examples it learnt from.
    pub examples: u32,
    /// Features it knows.
    pub features: u32,
    /// Size of the weights, in bytes.
    pub bytes: u64,
    /// How long training took, in milliseconds.
    pub training_ms: u64,
    /// When it was trained.
    pub trained_at: DateTime<Utc>,
}

/// Where a business's training stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrainingStatus {
    /// Bumped by every change to FAQs and intents.
    pub data_version: u64,
    /// FAQs, active or not.
    pub faqs: u32,
    /// Intents.
    pub intents: u32,
    /// The model in use, if one was trained.
    pub model: Option<ModelInfo>,
}

impl TrainingStatus {
    /// True when FAQs or intents changed since the model was trained.
    pub fn stale(&self) -> bool {
        self.model.as_ref().is_none_or(|m| m.data_version < self.data_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_words_normalised() {
        let s = AssistantSettings {
            handoff_words: vec!["  AGENT ".into(), "agent".into(), "Customer Care!".into()],
            ..AssistantSettings::default()
        };
        assert_eq!(s.validate().unwrap().handoff_words, ["agent", "customer care"]);
        let bad = AssistantSettings {
            threshold: 1.5,
            ambiguity: -0.1,
            handoff_after_misses: 0,
            negative_sentiment: Some(0.5),
            handoff_words: vec!["!!".into()],
            replies: AssistantReplies { clarify: " ".into(), ..AssistantReplies::default() },
            ..AssistantSettings::default()
        };
        let fields: Vec<String> =
            bad.validate().unwrap_err().errors.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "threshold",
                "ambiguity",
                "handoff_after_misses",
                "negative_sentiment",
                "handoff_words[0]",
                "replies.clarify"
            ]
        );
        let json = serde_json::to_string(&AssistantSettings::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<AssistantSettings>(&json).unwrap(),
            AssistantSettings::default()
        );
        assert!(
            serde_json::from_str::<AssistantSettings>(r#"{"enabled": true, "extra": 1}"#).is_err()
        );
    }

    #[test]
    fn faqs_and_intents_are_checked() {
        let b = BusinessId::new();
        let now = Utc::now();
        let faq = NewFaq {
            question: " Do you deliver? ".into(),
            paraphrases: vec!["Mnaleta?".into(), "Mnaleta?".into()],
            answer: "Yes, within Nairobi.".into(),
            intent: None,
            active: true,
        }
        .validate(b, FaqId::new(), now)
        .unwrap();
        assert_eq!((faq.question.as_str(), faq.paraphrases.len()), ("Do you deliver?", 1));
        assert!(faq.label().starts_with("faq:"));
        let bad = NewFaq {
            question: "?!".into(),
            paraphrases: vec!["x".repeat(301)],
            answer: String::new(),
            intent: Some("Delivery".into()),
            active: true,
        };
        let fields: Vec<String> = bad
            .validate(b, FaqId::new(), now)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["question", "paraphrases[0]", "answer", "intent"]);
        let intent = NewIntent {
            name: "faq_things".into(),
            examples: vec![],
            action: IntentAction::Reply,
            reply: None,
        };
        let fields: Vec<String> = intent
            .validate(b, IntentId::new(), now)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["name", "reply"]);
    }
}
